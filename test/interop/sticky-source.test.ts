/**
 * On a host with several addresses, burrowd answers a peer from the address the peer sent to, as
 * wireguard-go and the kernel do (IP_PKTINFO / IPV6_PKTINFO). Answering from the address the kernel
 * prefers instead makes the peer's endpoint for us flip to that address (issue 16, finding 3). When
 * that address goes, burrowd sends from another, as wireguard-go does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, type Netns, waitFor } from '../support/netns.js';
import { wgPair } from '../support/wg-pair.js';
import { type PeerKind, wgDump } from '../support/wg-peers.js';

afterEach(cleanupAll, 60_000);

describe.each([
  ['with the native fast path', {}],
  ['without the fast path', { BURROW_FAST_PATH: '0' }],
])('burrowd on a host with two addresses %s', (_, env: Record<string, string>) => {
  const families = [
    // A secondary IPv4 address of the subnet is never the kernel's preferred source.
    ['IPv4', false, '192.0.2.3', '192.0.2.3:51820', '192.0.2.1:51820'],
    // A deprecated IPv6 address (preferred_lft 0) still receives, but is never chosen as source.
    ['IPv6', true, 'fd00:2::3', '[fd00:2::3]:51820', '[fd00:2::1]:51820'],
  ] as const;

  /** A pair whose B sends to A's second address; A's answers have made B's endpoint sticky. */
  async function pairOnSecondAddress(
    outerV6: boolean,
    address: string,
    endpoint: string,
    peer: PeerKind = 'wireguard-go',
  ) {
    const t = await wgPair({ a: 'burrowd', b: peer, envA: env, outerV6 });
    const extra = outerV6 ? [`${address}/64`, 'preferred_lft', '0', 'nodad'] : [`${address}/24`];
    await t.nsA.exec('ip', ['addr', 'add', ...extra, 'dev', t.veth.a]);
    await t.nsB.exec('wg', ['set', t.b.iface, 'peer', t.keys.a.publicKey, 'endpoint', endpoint]);
    // Traffic both ways, the handshake included.
    await waitFor('B pings A through the tunnel', () => pings(t.nsB, '10.9.0.1'), 15_000);
    await t.nsA.exec('ping', ['-c', '20', '-i', '0.01', '-W', '2', '10.9.0.2']);
    await t.nsB.exec('ping', ['-c', '20', '-i', '0.01', '-W', '2', '-s', '1300', '10.9.0.1']);
    return t;
  }

  const peers = ['wireguard-go', 'wireguard-go-modern'] as const;
  it.each(
    families.flatMap(([family, ...f]) =>
      peers.map((peer) => [`${family} (peer: ${peer})`, ...f, peer] as const),
    ),
  )(
    'answers %s from the address the peer sent to',
    async (_family, outerV6, address, endpoint, _preferred, peer) => {
      const t = await pairOnSecondAddress(outerV6, address, endpoint, peer);
      const dump = await wgDump(t.nsB, t.b.iface);
      expect(dump.peers[0]!.endpoint).toBe(endpoint);
    },
    60_000,
  );

  it.each(families)(
    'sends %s from the preferred address once the one the peer sent to is removed',
    async (_family, outerV6, address, endpoint, preferred) => {
      const t = await pairOnSecondAddress(outerV6, address, endpoint);
      await t.nsA.exec('ip', ['addr', 'del', `${address}/${outerV6 ? 64 : 24}`, 'dev', t.veth.a]);
      // Only A can restore the path now: B still sends to the removed address.
      await waitFor('A pings B through the tunnel', () => pings(t.nsA, '10.9.0.2'), 15_000);
      expect((await wgDump(t.nsB, t.b.iface)).peers[0]!.endpoint).toBe(preferred);
    },
    60_000,
  );
});

async function pings(ns: Netns, address: string): Promise<boolean> {
  try {
    await ns.exec('ping', ['-c', '1', '-W', '1', address]);
    return true;
  } catch {
    return false;
  }
}
