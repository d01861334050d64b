/**
 * Two namespaces joined by a veth, with one WireGuard peer in each, configured for each other: the
 * topology of the interop tests and of bench:datapath. Outer 192.0.2.0/24 and fd00:2::/64; tunnel
 * 10.9.0.0/24 and fd09::/64; A is .1 (UDP 51820), B is .2 (UDP 51821). Everything it makes is
 * removed by `cleanupAll` (support/netns.ts).
 */
import { link, Netns, run } from './netns.js';
import { genKeyPair, type InterfaceSpec, type PeerKind, type RunningPeer, startPeer } from './wg-peers.js';

export interface PairOptions {
  a: PeerKind;
  b: PeerKind;
  /** Both ends use one preshared key. */
  psk?: boolean;
  /** The peers reach each other over IPv6 (fd00:2::/64) instead of IPv4. */
  outerV6?: boolean;
  /** The tunnel MTU (default 1420, as wg-quick's). */
  mtu?: number;
  /** Extra environment for A's and B's process (burrowd: BURROW_TEST_TIME_SCALE, ...). */
  envA?: Record<string, string>;
  envB?: Record<string, string>;
}

export interface Pair {
  nsA: Netns;
  nsB: Netns;
  a: RunningPeer;
  b: RunningPeer;
  keys: { a: KeyPair; b: KeyPair };
  specA: InterfaceSpec;
  specB: InterfaceSpec;
  /** The veth ends in A and in B. */
  veth: { a: string; b: string };
}

type KeyPair = Awaited<ReturnType<typeof genKeyPair>>;

export async function wgPair(options: PairOptions): Promise<Pair> {
  const nsA = await Netns.create('wpa');
  const nsB = await Netns.create('wpb');
  const { aDev, bDev } = await link(nsA, ['192.0.2.1/24', 'fd00:2::1/64'], nsB, [
    '192.0.2.2/24',
    'fd00:2::2/64',
  ]);
  const keys = { a: await genKeyPair(), b: await genKeyPair() };
  const psk = options.psk ? (await run('wg', ['genpsk'])).stdout.trim() : undefined;
  const spec = (self: KeyPair, peer: KeyPair, me: number, other: number): InterfaceSpec => ({
    privateKey: self.privateKey,
    listenPort: 51819 + me,
    addresses: [`10.9.0.${me}/24`, `fd09::${me}/64`],
    mtu: options.mtu ?? 1420,
    peers: [
      {
        publicKey: peer.publicKey,
        presharedKey: psk,
        endpoint: options.outerV6
          ? `[fd00:2::${other}]:${51819 + other}`
          : `192.0.2.${other}:${51819 + other}`,
        allowedIps: [`10.9.0.${other}/32`, `fd09::${other}/128`],
      },
    ],
  });
  const specA = spec(keys.a, keys.b, 1, 2);
  const specB = spec(keys.b, keys.a, 2, 1);
  const a = await startPeer(options.a, nsA, specA, { env: options.envA });
  const b = await startPeer(options.b, nsB, specB, { env: options.envB });
  return { nsA, nsB, a, b, keys, specA, specB, veth: { a: aDev, b: bDev } };
}
