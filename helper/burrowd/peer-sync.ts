import type { Netmap, NodeInfo } from '../../src/control/messages.js';
import { formatAddr, parseCidr } from '../../src/packet/ip-text.js';
import type { Endpoint } from '../../src/wireguard/actions.js';
import type { Device } from '../../src/wireguard/device.js';
import { decodeKey, encodeKey } from '../../src/wireguard/keys.js';

export const DEFAULT_ROUTES = ['0.0.0.0/0', '::/0'] as const;

/** What the device wants of WireGuard and table 52 for a netmap and the user's choices. */
export interface MeshPlan {
  peers: { node: NodeInfo; allowedIps: string[] }[];
  /** Table 52: every peer prefix, plus the default routes while an exit node is chosen. */
  routes: string[];
  /** The chosen exit node is not in the map (or not offered): traffic to the internet is dropped. */
  exitNodeMissing: boolean;
}

const host = (ip: string) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`);

/**
 * Cryptokey routing from the netmap: each peer gets its addresses; its subnet routes only with
 * --accept-routes; the default routes only when it is the chosen exit node. Peers whose node key
 * expired are left out. While an exit node is chosen, table 52 keeps the default routes even if
 * that node disappears: packets then reach WireGuard, which finds no peer for them and drops them,
 * so internet traffic fails closed instead of leaking out unencrypted.
 */
export function planMesh(
  map: Netmap,
  choices: { acceptRoutes: boolean; exitNode: string | null },
  now: number,
): MeshPlan {
  const peers: MeshPlan['peers'] = [];
  let exitNodeFound = false;
  for (const node of map.peers) {
    if (node.keyExpiry !== null && node.keyExpiry <= now) continue;
    const allowedIps = node.ips.map(host);
    if (choices.acceptRoutes) allowedIps.push(...node.routes);
    if (choices.exitNode === node.id && node.exitNodeOption) {
      allowedIps.push(...DEFAULT_ROUTES);
      exitNodeFound = true;
    }
    peers.push({ node, allowedIps });
  }
  const routes = new Set(peers.flatMap((p) => p.allowedIps));
  if (choices.exitNode !== null) for (const r of DEFAULT_ROUTES) routes.add(r);
  return { peers, routes: [...routes], exitNodeMissing: choices.exitNode !== null && !exitNodeFound };
}

/** CIDR text as formatAddr writes it, so the server's spelling and the trie's compare equal. */
function canonical(text: string): string {
  const { addr, cidr } = parseCidr(text);
  return `${formatAddr(addr)}/${cidr}`;
}

/**
 * Makes the Device's peers and allowed IPs match the plan: removes peers that left, adds new ones
 * at the endpoint `endpointOf` gives (the mesh conn's fixed endpoint for the peer, behind which it
 * chooses the path), and changes allowed IPs in place, so that sessions with unchanged peers go on.
 */
export function syncDevice(device: Device, plan: MeshPlan, endpointOf: (node: NodeInfo) => Endpoint): void {
  const wanted = new Map(plan.peers.map((p) => [p.node.nodeKey, p]));
  for (const peer of [...device.peers()]) {
    if (!wanted.has(encodeKey(peer.publicKey))) device.removePeer(peer);
  }
  for (const [key, { node, allowedIps }] of wanted) {
    const publicKey = decodeKey(key);
    const peer = device.getPeer(publicKey) ?? device.addPeer({ publicKey, endpoint: endpointOf(node) });
    const want = new Set(allowedIps.map(canonical));
    for (const { addr, cidr } of device.allowedIps.entriesOf(peer)) {
      const text = `${formatAddr(addr)}/${cidr}`;
      if (want.has(text)) want.delete(text);
      else device.allowedIps.remove(addr, cidr);
    }
    for (const text of want) {
      const { addr, cidr } = parseCidr(text);
      device.allowedIps.insert(addr, cidr, peer);
    }
  }
}
