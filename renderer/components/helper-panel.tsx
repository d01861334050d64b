/**
 * Shown instead of the screens while burrowd cannot be reached: why (in the helper's words, or the
 * failed call's), a way to install it, and a retry that also runs by itself every few seconds.
 */
import { useEffect } from 'react';
import type { HelperState } from '../../src/ipc/schema.js';
import type { InstallPhase } from '../store.js';
import { useBurrow } from '../store-context.js';

const RETRY_MS = 5000;

const WHY: Record<HelperState['state'], string> = {
  running: 'burrowd is running, but does not answer.',
  'not-running': 'burrowd, the Burrow helper, is installed but not running.',
  'not-installed': 'burrowd, the Burrow helper, is not installed on this computer.',
  'untrusted-socket':
    'The socket burrowd should be listening on is not owned by the system, so Burrow will not use it.',
};

const INSTALL: Record<InstallPhase, string> = {
  idle: '',
  installing: 'Installing… approve the administrator prompt to continue.',
  installed: 'Installed. Connecting to burrowd…',
  declined: 'The helper was not installed.',
  failed: 'Installing the helper failed.',
};

export function HelperPanel() {
  const helper = useBurrow((s) => s.helper);
  const unreachable = useBurrow((s) => s.unreachable);
  const install = useBurrow((s) => s.install);
  const installHelper = useBurrow((s) => s.installHelper);
  const refresh = useBurrow((s) => s.refresh);

  useEffect(() => {
    const timer = setInterval(() => void refresh(), RETRY_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  const why = helper ? WHY[helper.state] : 'The Burrow app cannot reach burrowd.';
  const detail = helper?.detail || unreachable?.message;
  return (
    <section className="card helper" aria-labelledby="helper-title" data-testid="helper-panel">
      <h2 id="helper-title">Burrow’s helper is not available</h2>
      <p>{why}</p>
      {detail && <p className="muted">{detail}</p>}
      <p>
        burrowd runs in the background with the rights needed to create the VPN interface. The app talks to it
        and cannot connect without it.
      </p>
      <div className="actions">
        <button
          type="button"
          className="primary"
          data-testid="install-helper"
          aria-label="Install the Burrow helper"
          disabled={install.phase === 'installing'}
          onClick={() => installHelper()}
        >
          Install helper
        </button>
        <button
          type="button"
          data-testid="retry"
          aria-label="Try reaching burrowd again"
          onClick={() => refresh()}
        >
          Retry
        </button>
      </div>
      {install.phase !== 'idle' && (
        <p
          className={install.phase === 'failed' ? 'warning' : 'muted'}
          role="status"
          data-testid="install-state"
        >
          {INSTALL[install.phase]} {install.detail}
        </p>
      )}
    </section>
  );
}
