/**
 * How each direct path was found, as `burrow status` and its JSON say (issue 20): LAN between two
 * devices on one subnet, STUN between two devices behind easy NATs, and peer-reflexive where a
 * device behind a symmetric NAT pings one with a public address: the address its ping came from
 * is its NAT's mapping toward us, which it could not tell anyone. The real burrow-server with its
 * relay and STUN, one real burrowd per device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabDevice, MeshLab, type StatusJson } from '../support/mesh-lab.js';
import { hasNft } from '../support/nat-router.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';

const T = 120_000;
const STUN_PORT = 3478;

type PeerJson = StatusJson['peers'][number] & { endpoint: string | null; found: string | null };

describe.skipIf(!isRoot() || !hasNft())('how each direct path was found', () => {
  let lab: MeshLab;
  let devices: Record<'d1' | 'd2' | 'e1' | 'e2' | 's', LabDevice>;
  const peerOf = async (from: LabDevice, name: string) =>
    (await from.status()).peers.find((p) => p.hostName === name) as PeerJson;

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'team');
    await lab.startServer({ stunPort: STUN_PORT });
    devices = {
      d1: await lab.device('d1'),
      d2: await lab.device('d2'),
      e1: await lab.natDevice('e1', 'easy'),
      e2: await lab.natDevice('e2', 'easy'),
      s: await lab.natDevice('s', 'symmetric'),
    };
    for (const d of Object.values(devices)) await lab.join(d, 'alice');
    await waitFor(
      'every device to see the four others',
      async () =>
        (await Promise.all(Object.values(devices).map((d) => d.status()))).every((s) => s.peers.length === 4),
      30_000,
    );
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  /** Pings b from a until a's path to b is direct; returns a's view of b. */
  const direct = async (a: LabDevice, b: LabDevice) => {
    const target = (await b.status()).self!.ips[0]!;
    const running = a.ns.exec('ping', ['-c', '50', '-i', '0.2', '-W', '1', target]).catch(() => null);
    await waitFor(
      `${a.name} to go direct to ${b.name}`,
      async () => (await peerOf(a, b.name)).path === 'direct',
      10_000,
      100,
    );
    void running;
    return peerOf(a, b.name);
  };

  it(
    'LAN: two devices on one subnet; STUN: two devices behind easy NATs; burrow status says so',
    async () => {
      const { d1, d2, e1, e2 } = devices;
      const onLan = await direct(d1, d2);
      expect(onLan.endpoint).toMatch(new RegExp(`^${d2.lanIp}:\\d+$`));
      expect(onLan.found).toBe('lan');
      expect((await d1.burrow('status')).stdout).toMatch(
        /d2 .* direct 10\.99\.0\.\d+:\d+; \d+ ms; found by LAN/,
      );

      const viaStun = await direct(e1, e2);
      expect(viaStun.found).toBe('stun');
      expect((await e1.burrow('status')).stdout).toMatch(
        /e2 .* direct 10\.99\.0\.\d+:\d+; \d+ ms; found by STUN/,
      );
    },
    T,
  );

  it(
    'peer-reflexive: a device behind a symmetric NAT pings one with a public address, which answers where the ping came from',
    async () => {
      const { d1, s } = devices;
      const fromS = await direct(s, d1);
      expect(fromS.endpoint).toMatch(new RegExp(`^${d1.lanIp}:\\d+$`));
      await waitFor(
        'd1 to go direct to s',
        async () => (await peerOf(d1, 's')).path === 'direct',
        10_000,
        100,
      );
      const toS = await peerOf(d1, 's');
      // s's router's public address, at a port s never reported (its NAT maps per destination).
      expect(toS.found).toBe('peer-reflexive');
      expect(toS.endpoint).toMatch(/^10\.99\.0\.\d+:\d+$/);
      expect((await d1.burrow('status')).stdout).toMatch(
        /s .* direct 10\.99\.0\.\d+:\d+; \d+ ms; found by peer-reflexive/,
      );
    },
    T,
  );
});
