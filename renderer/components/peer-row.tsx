/**
 * One peer in the Devices list: who it is (its short name, the full one below and on hover),
 * whether and how it is reached, its addresses, and Trace (the journey view of a packet to it).
 */
import type { PathFound, PeerStatus } from '../../src/localapi/api.js';
import { formatAgo } from '../format.js';
import { networkOf } from '../peers.js';
import { useBurrow } from '../store-context.js';
import { Addresses } from './addresses.js';
import { FullName } from './full-name.js';

const PATHS: Record<PeerStatus['path'], string> = { direct: 'Direct', relay: 'Relayed', none: 'No path' };
const FOUND: Record<PathFound, string> = {
  lan: 'LAN',
  stun: 'STUN',
  'peer-reflexive': 'peer-reflexive',
  'port-mapping': 'port mapping',
};

/**
 * "Direct 192.0.2.7:41641 (STUN), 3 ms" or "Relayed via fra, 31 ms": how, how the direct path was
 * found, and how fast, as `burrow status` says.
 */
export function pathText(peer: PeerStatus): string {
  let text = PATHS[peer.path];
  if (peer.path === 'direct' && peer.endpoint) text += ` ${peer.endpoint}`;
  if (peer.path === 'direct' && peer.found) text += ` (${FOUND[peer.found]})`;
  if (peer.path === 'relay' && peer.relay) text += ` via ${peer.relay}`;
  if (peer.path !== 'none' && peer.latencyMs !== null) text += `, ${peer.latencyMs} ms`;
  return text;
}

/**
 * Test ids carry the short name: it is unique among what this device sees (a shared `nas` next to
 * our own is `nas-carol`), where host names are not.
 */
export function PeerRow({ peer, now }: { peer: PeerStatus; now: number }) {
  const name = peer.shortName;
  const openJourney = useBurrow((s) => s.openJourney);
  return (
    <li className="peer" data-testid={`peer-${name}`}>
      <div className="peer-head">
        <span className={peer.online ? 'dot online' : 'dot'} aria-hidden="true" />
        <strong className="peer-name" title={peer.dnsName} data-testid="peer-name">
          {name}
        </strong>
        <span className="muted" data-testid="peer-owner">
          {peer.shared ? `${peer.user} · network ${networkOf(peer.dnsName)}` : peer.user}
        </span>
        <span className="badges">
          <span className="badge" data-testid="online-state">
            {peer.online ? 'Online' : 'Offline'}
          </span>
          {peer.shared && (
            <span className="badge shared" data-testid="shared-badge">
              Shared
            </span>
          )}
          {peer.exitNodeOption && (
            <span className="badge exit" data-testid="exit-node-badge">
              {peer.exitNode ? 'Exit node (in use)' : 'Exit node'}
            </span>
          )}
        </span>
        <button
          type="button"
          className="small"
          data-testid={`trace-${name}`}
          aria-label={`Trace a packet to ${name}: why can’t I reach it?`}
          onClick={() => openJourney(name)}
        >
          Trace
        </button>
      </div>
      <FullName dnsName={peer.dnsName} name={name} testId={`copy-name-${name}`} />
      <dl className="peer-meta">
        <div>
          <dt>Path</dt>
          <dd data-testid="peer-path">{pathText(peer)}</dd>
        </div>
        <div>
          <dt>Last handshake</dt>
          <dd data-testid="last-handshake">{formatAgo(peer.lastHandshake, now)}</dd>
        </div>
      </dl>
      <Addresses ips={peer.ips} name={name} testId={`copy-${name}`} />
    </li>
  );
}
