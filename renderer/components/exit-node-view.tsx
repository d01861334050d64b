/**
 * The Exit node screen: which peer (if any) carries this device's internet traffic, whether the
 * local network stays reachable meanwhile, and Shields Up (refuse every incoming connection).
 */
import { useId } from 'react';
import { exitNodeChoices } from '../peers.js';
import { useBurrow } from '../store-context.js';

export function ExitNodeView() {
  const peers = useBurrow((s) => s.status?.peers);
  const prefs = useBurrow((s) => s.prefs);
  const setPrefs = useBurrow((s) => s.setPrefs);
  const busy = useBurrow((s) => s.pending.setPrefs === true);
  const group = useId();

  if (!prefs) return <p className="empty">Waiting for burrowd’s settings…</p>;
  const choices = exitNodeChoices(peers ?? [], prefs.exitNode);

  return (
    <>
      <section>
        <h2>Exit node</h2>
        <fieldset className="card choices" disabled={busy}>
          <legend>Send internet traffic through</legend>
          <label className="choice">
            <input
              type="radio"
              name={group}
              data-testid="exit-node-none"
              checked={prefs.exitNode === null}
              onChange={() => setPrefs({ exitNode: null })}
            />
            None (use this device’s own connection)
          </label>
          {choices.map((c) => (
            <label key={c.id} className={c.disabled ? 'choice disabled' : 'choice'}>
              <input
                type="radio"
                name={group}
                data-testid={`exit-node-${c.name}`}
                checked={c.selected}
                disabled={c.disabled}
                onChange={() => setPrefs({ exitNode: c.id })}
              />
              {c.name}
              {!c.online && <span className="muted"> (offline)</span>}
            </label>
          ))}
          {choices.length === 0 && (
            <p className="muted">No device in your network offers to be an exit node.</p>
          )}
        </fieldset>
        <label className="inline">
          <input
            type="checkbox"
            data-testid="exit-node-allow-lan"
            checked={prefs.exitNodeAllowLanAccess}
            disabled={busy}
            onChange={(e) => setPrefs({ exitNodeAllowLanAccess: e.target.checked })}
          />
          Allow local network access (printers, the router) while using an exit node
        </label>
      </section>
      <section>
        <h2>Shields Up</h2>
        <label className="inline switch">
          <input
            type="checkbox"
            role="switch"
            aria-checked={prefs.shieldsUp}
            data-testid="shields-up"
            checked={prefs.shieldsUp}
            disabled={busy}
            onChange={(e) => setPrefs({ shieldsUp: e.target.checked })}
          />
          Block incoming connections from other devices, pings included (this device can still reach them)
        </label>
      </section>
    </>
  );
}
