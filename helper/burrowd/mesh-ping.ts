import type { Netmap } from '../../src/control/messages.js';
import { endpointText } from '../../src/wireguard/actions.js';
import { LocalApiError } from '../localapi/server.js';
import { findPeer } from './mesh-status.js';
import type { Pinger } from './pinger.js';

/**
 * `burrow ping` in a mesh node: an echo request through the tunnel to the peer `ref` names (from an
 * address of this device of the same family), and how the answer came, direct or through a relay.
 * `up`: whether the tunnel is open. Refusals are LocalAPI errors (404 no such peer, 409 not up, 504
 * no answer in time).
 */
export async function pingPeer(
  netmap: Netmap | null,
  up: boolean,
  pinger: Pinger,
  ref: string,
  timeoutMs: number,
) {
  const node = findPeer(netmap, ref);
  if (!node) throw new LocalApiError(404, `no peer "${ref}"`);
  const self = netmap?.self;
  if (!self || !up) throw new LocalApiError(409, 'burrowd is not up');
  const ip = node.ips.find((a) => !a.includes(':')) ?? node.ips[0]!;
  const src = self.ips.find((a) => a.includes(':') === ip.includes(':'));
  if (src === undefined) throw new LocalApiError(409, `no address of ${ip}'s family`);
  const pong = await pinger.ping(src, ip, timeoutMs);
  if (pong === null)
    throw new LocalApiError(504, `no reply from ${node.name} (${ip}) within ${timeoutMs} ms`);
  const { origin } = pong;
  const relayed = 'relay' in origin;
  return {
    peer: node.name,
    ip,
    ms: Math.round(pong.ms),
    path: relayed ? ('relay' as const) : ('direct' as const),
    endpoint: relayed ? null : endpointText(origin),
    relay: relayed ? origin.relay : null,
  };
}
