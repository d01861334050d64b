/**
 * The window: a header with the connection state and its one button, failures, then either the
 * helper panel (burrowd away) or the sign-in panel as needed and the three screens, or the journey
 * view of a trace in their place.
 */
import { useEffect, useState } from 'react';
import type { BackendState } from '../../src/localapi/api.js';
import { followOpenRequests } from '../follow-open.js';
import { burrowdAway } from '../store.js';
import { useBurrow } from '../store-context.js';
import { DevicesView } from './devices-view.js';
import { ExitNodeView } from './exit-node-view.js';
import { HelperPanel } from './helper-panel.js';
import { JourneyView } from './journey-view.js';
import { LoginPanel } from './login-panel.js';
import { Notices } from './notices.js';
import { SharingView } from './sharing-view.js';

const TABS = [
  { id: 'devices', label: 'Devices', View: DevicesView },
  { id: 'sharing', label: 'Sharing', View: SharingView },
  { id: 'exit-node', label: 'Exit node', View: ExitNodeView },
] as const;
type TabId = (typeof TABS)[number]['id'];

const STATE_LABELS: Record<BackendState, string> = {
  running: 'Connected',
  starting: 'Connecting',
  'needs-login': 'Needs sign-in',
  stopped: 'Disconnected',
};

function ConnectButton({ state }: { state: BackendState }) {
  const connect = useBurrow((s) => s.connect);
  const disconnect = useBurrow((s) => s.disconnect);
  const busy = useBurrow((s) => s.pending.up === true || s.pending.down === true);
  const on = state === 'running' || state === 'starting';
  return (
    <button
      type="button"
      className={on ? undefined : 'primary'}
      data-testid="connect-toggle"
      aria-label={on ? 'Disconnect from the Burrow network' : 'Connect to the Burrow network'}
      disabled={busy}
      onClick={() => (on ? disconnect() : connect())}
    >
      {on ? 'Disconnect' : 'Connect'}
    </button>
  );
}

function Health() {
  const health = useBurrow((s) => s.status?.health);
  if (!health?.length) return null;
  return (
    <ul className="health" aria-label="Problems burrowd reports">
      {health.map((h) => (
        <li key={h}>{h}</li>
      ))}
    </ul>
  );
}

function Screens() {
  const [tab, setTab] = useState<TabId>('devices');
  const state = useBurrow((s) => s.backendState);
  const tracing = useBurrow((s) => s.journey !== null);
  const closeJourney = useBurrow((s) => s.closeJourney);
  const { View } = TABS.find((t) => t.id === tab)!;
  return (
    <>
      {(state === 'needs-login' || state === 'stopped') && <LoginPanel />}
      <Health />
      <div className="layout">
        <nav className="sidebar" aria-label="Sections">
          {TABS.map((t) => (
            <button
              key={t.id}
              type="button"
              data-testid={`tab-${t.id}`}
              aria-current={t.id === tab && !tracing ? 'page' : undefined}
              onClick={() => {
                closeJourney();
                setTab(t.id);
              }}
            >
              {t.label}
            </button>
          ))}
        </nav>
        <main className="content">{tracing ? <JourneyView /> : <View />}</main>
      </div>
    </>
  );
}

export function App() {
  const loaded = useBurrow((s) => s.loaded);
  const away = useBurrow(burrowdAway);
  const state = useBurrow((s) => s.backendState);
  const openJourney = useBurrow((s) => s.openJourney);
  // The tray opens the window on the journey view through the address (src/ipc/open-view.ts).
  useEffect(() => followOpenRequests(window, ({ target }) => openJourney(target)), [openJourney]);
  return (
    <div className="app">
      <header className="topbar">
        <h1>Burrow</h1>
        <span
          className={`state state-${state ?? 'unknown'}`}
          data-testid="backend-state"
          data-state={state ?? ''}
        >
          {away ? 'Helper unavailable' : state ? STATE_LABELS[state] : 'Loading…'}
        </span>
        {state && !away && <ConnectButton state={state} />}
      </header>
      <Notices />
      {!loaded ? (
        <p className="empty" role="status">
          Connecting to burrowd…
        </p>
      ) : away ? (
        <HelperPanel />
      ) : (
        <Screens />
      )}
    </div>
  );
}
