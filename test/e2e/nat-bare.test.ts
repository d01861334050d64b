/**
 * Bare masquerade routers (no inbound filter) on both sides, issue 20's first finding: one side's
 * first packet reached the other's router before that side had sent anything, and the router kept
 * it as a flow to itself, which claims the public port toward us: the peer's own packets toward us
 * then left from another public port, and no packet ever reached the other device.
 *
 * A discovery round now opens our own router first with low-TTL pings that die a hop past it (the
 * bare routers sit a routed hop from each other, as across the internet), then calls the peer
 * through the relay, whose pings then get in; our full pings follow the relay's answer. Such a pair
 * must turn direct within 10 s while a ping runs, and stay direct.
 *
 * Next to it, the same lab with an inbound filter (the easy kind), which went direct before.
 * The real burrow-server with its relay and STUN on, one real burrowd per device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshLab, type NatDevice, type StatusJson } from '../support/mesh-lab.js';
import { hasNft } from '../support/nat-router.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';

const T = 120_000;
const STUN_PORT = 3478;

type PeerJson = StatusJson['peers'][number] & { endpoint: string | null; via?: string | null };

describe.skipIf(!isRoot() || !hasNft())('bare masquerade routers: open our NAT, then call the peer', () => {
  let lab: MeshLab;
  let B1: NatDevice;
  let B2: NatDevice;
  let E1: NatDevice;
  let E2: NatDevice;
  const ip = async (d: NatDevice) => (await d.status()).self!.ips[0]!;
  const peerOf = async (from: NatDevice, name: string) =>
    (await from.status()).peers.find((p) => p.hostName === name) as PeerJson;

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'team');
    await lab.startServer({ stunPort: STUN_PORT });
    B1 = await lab.natDevice('b1', 'bare');
    B2 = await lab.natDevice('b2', 'bare');
    E1 = await lab.natDevice('e1', 'easy');
    E2 = await lab.natDevice('e2', 'easy');
    for (const d of [B1, B2, E1, E2]) await lab.join(d, 'alice');
    await waitFor(
      'every device to see the three others',
      async () =>
        (await Promise.all([B1, B2, E1, E2].map((d) => d.status()))).every((s) => s.peers.length === 3),
      30_000,
    );
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  /** Pings `to` from `from` every 200 ms for `seconds`, in the background. */
  const pinging = async (from: NatDevice, to: NatDevice, seconds: number) => {
    const target = await ip(to);
    const count = String(seconds * 5);
    return from.ns.exec('ping', ['-c', count, '-i', '0.2', '-W', '1', target]).catch(() => null);
  };

  /** Within 10 s of the first ping both sides say direct, at the other's public address. */
  const turnsDirect = async (a: NatDevice, b: NatDevice, seconds: number) => {
    const t0 = Date.now();
    const running = pinging(a, b, seconds);
    await waitFor(
      `${a.name} and ${b.name} to go direct`,
      async () => (await peerOf(a, b.name)).path === 'direct' && (await peerOf(b, a.name)).path === 'direct',
      10_000,
      100,
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await peerOf(a, b.name)).endpoint).toMatch(new RegExp(`^${b.publicIp}:\\d+$`));
    expect((await peerOf(b, a.name)).endpoint).toMatch(new RegExp(`^${a.publicIp}:\\d+$`));
    return running;
  };

  it(
    'with an inbound filter (easy): the pair turns direct within 10 s',
    async () => {
      const running = await turnsDirect(E1, E2, 12);
      await running;
    },
    T,
  );

  it(
    'bare on both sides: the pair turns direct within 10 s while a ping runs, and stays direct for 30 s',
    async () => {
      const running = await turnsDirect(B1, B2, 45).catch(async (e) => {
        for (const d of [B1, B2]) {
          console.log(
            d.name,
            d.publicIp,
            d.lanIp,
            (await d.router.exec('grep', ['udp', '/proc/net/nf_conntrack'])).stdout,
          );
          console.log(
            d
              .output()
              .split('\n')
              .filter((l) => l.includes('path') || l.includes('endpoint'))
              .join('\n'),
          );
          console.log(JSON.stringify(await d.status()));
        }
        throw e;
      });
      // Stays direct: looked at every second for 30 s, both ways.
      for (let s = 0; s < 30; s++) {
        await new Promise((r) => setTimeout(r, 1000));
        expect((await peerOf(B1, 'b2')).path).toBe('direct');
        expect((await peerOf(B2, 'b1')).path).toBe('direct');
      }
      await running;
    },
    T,
  );
});
