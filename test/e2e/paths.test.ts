/**
 * Every packet finds a way: devices behind real NAT routers (nftables in router namespaces), the
 * real burrow-server with its relay and STUN on the lab LAN (which plays the internet), one real
 * burrowd per device, driven through the burrow CLI.
 *
 * Cast (all alice's, network "team"): E1 and E2 behind easy (endpoint-independent) NATs, H with
 * outbound UDP blocked, S behind a symmetric NAT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshLab, type NatDevice, type StatusJson } from '../support/mesh-lab.js';
import { hasNft } from '../support/nat-router.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';
import { transfer } from '../support/transfer.js';

const T = 120_000;
const STUN_PORT = 3478;
const REGION = 'burrow-server';

type PeerJson = StatusJson['peers'][number] & {
  path: string;
  endpoint: string | null;
  relay: string | null;
  latencyMs: number | null;
};

describe.skipIf(!isRoot() || !hasNft())('relays and NAT traversal, end to end', () => {
  let lab: MeshLab;
  let E1: NatDevice;
  let E2: NatDevice;
  let H: NatDevice;
  let S: NatDevice;
  /** Packets the relay forwarded before E2 joined, and once it had (when only E1 and E2 were up). */
  let relayed: { before: number; after: number };
  const ip = async (d: NatDevice) => (await d.status()).self!.ips[0]!;
  const ping = (from: NatDevice, to: string, wait = 2) =>
    from.ns.exec('ping', ['-c', '1', '-W', String(wait), to]).then(
      () => true,
      () => false,
    );
  const peerOf = async (from: NatDevice, name: string) =>
    (await from.status()).peers.find((p) => p.hostName === name) as PeerJson;
  const metric = async (line: string) => {
    const { stdout } = await lab.serverNs.exec('curl', ['-sf', `${lab.serverUrl}/metrics`]);
    const found = stdout.split('\n').find((l) => l.startsWith(`${line} `));
    return found === undefined ? 0 : Number(found.split(' ')[1]);
  };

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'team');
    await lab.startServer({ stunPort: STUN_PORT });
    E1 = await lab.natDevice('e1', 'easy');
    E2 = await lab.natDevice('e2', 'easy');
    H = await lab.natDevice('h', 'udp-blocked');
    S = await lab.natDevice('s', 'symmetric');
    await lab.join(E1, 'alice');
    const before = await metric('burrow_relay_forwarded_packets');
    // E2's burrow up starts the handshake with E1, online in its first map: through the relay first.
    await lab.join(E2, 'alice');
    relayed = {
      before,
      after: await waitFor(
        'E2 to reach E1 through the relay',
        async () => {
          const now = await metric('burrow_relay_forwarded_packets');
          return now > before && now;
        },
        10_000,
      ),
    };
    for (const d of [H, S]) await lab.join(d, 'alice');
    await waitFor(
      'every device to see the three others',
      async () =>
        (await Promise.all([E1, E2, H, S].map((d) => d.status()))).every((s) => s.peers.length === 3),
      30_000,
    );
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'easy NAT: traffic starts on the relay and turns direct within 5 s',
    async () => {
      const target = await ip(E2);
      const t0 = Date.now();
      expect(await ping(E1, target, 5)).toBe(true);
      // The first packets between them (the handshake E2's burrow up started) went through the relay.
      expect(relayed.after).toBeGreaterThan(relayed.before);
      // Direct within 5 s of the first ping (often at once: the handshake at E2's up started the
      // search for a direct path, which may take longer than that while E2's public address is
      // still unknown), and burrowd logs when it turned direct.
      await waitFor(
        'E1 to go direct to E2',
        async () => (await peerOf(E1, 'e2')).path === 'direct',
        5000,
        100,
      );
      expect(Date.now() - t0).toBeLessThan(5000);
      const direct = new RegExp(`direct via ${E2.publicIp.replace(/\./g, '\\.')}:\\d+ \\(\\d+ ms after`);
      expect(E1.output()).toMatch(direct);
      // Status and ping show it: E2's router's public address, not E2's private one.
      const peer = await peerOf(E1, 'e2');
      expect(peer.path).toBe('direct');
      expect(peer.endpoint).toMatch(new RegExp(`^${E2.publicIp}:\\d+$`));
      expect(peer.latencyMs).not.toBeNull();
      const pong = await E1.burrow('ping', 'e2');
      expect(pong.stdout).toMatch(new RegExp(`via ${E2.publicIp}:\\d+ in \\d+ ms`));
      const status = await E1.burrow('status');
      expect(status.stdout).toMatch(new RegExp(`e2 .* direct ${E2.publicIp}:\\d+; \\d+ ms`));
    },
    T,
  );

  it(
    'hard NAT: with UDP blocked, or behind a symmetric NAT, traffic stays on the relay and works',
    async () => {
      const h = await ip(H);
      const result = await transfer(H.ns, E1.ns, h, 5001, { bytes: 3 << 20, rate: 4 << 20 });
      expect(result.received).toEqual(result.sent);
      expect(result.sent.bytes).toBe(3 << 20);
      const viaRelay = await peerOf(E1, 'h');
      expect(viaRelay).toMatchObject({ path: 'relay', relay: REGION, endpoint: null });
      expect((await peerOf(H, 'e1')).path).toBe('relay');
      expect((await E1.burrow('ping', 'h')).stdout).toContain(`via relay "${REGION}"`);

      const s = await ip(S);
      expect(await ping(E1, s, 5)).toBe(true);
      const symmetric = await transfer(S.ns, E1.ns, s, 5002, { bytes: 1 << 20, rate: 4 << 20 });
      expect(symmetric.received).toEqual(symmetric.sent);
      // Long enough for several rounds of discovery: still no direct path, so still relayed.
      await new Promise((r) => setTimeout(r, 6000));
      expect((await peerOf(E1, 's')).path).toBe('relay');
      expect((await E1.burrow('status')).stdout).toMatch(new RegExp(`h .* relay "${REGION}"`));
    },
    T,
  );

  it(
    'fallback: a direct path that breaks mid-transfer falls back to the relay, and TCP survives',
    async () => {
      const e1 = await ip(E1);
      await waitFor('E2 to be direct to E1', async () => (await peerOf(E2, 'e1')).path === 'direct', 15_000);
      const result = await transfer(E1.ns, E2.ns, e1, 5003, {
        bytes: 8 << 20,
        rate: 1 << 20,
        during: async () => {
          await new Promise((r) => setTimeout(r, 1500));
          await E2.blockUdp();
        },
      });
      expect(result.received).toEqual(result.sent);
      expect(result.sent.bytes).toBe(8 << 20);
      expect(E2.output()).toContain('stopped answering directly; back to the relay');
      expect((await peerOf(E2, 'e1')).path).toBe('relay');
      // UDP works again: heartbeats find the direct path again.
      await E2.unblockUdp();
      await waitFor('E2 to be direct again', async () => (await peerOf(E2, 'e1')).path === 'direct', 20_000);
    },
    T,
  );

  it(
    'relay restart: clients reconnect and relayed traffic resumes',
    async () => {
      const h = await ip(H);
      expect(await ping(E1, h, 5)).toBe(true);
      await lab.stopServer();
      await lab.startServer({ stunPort: STUN_PORT });
      const start = Date.now();
      await waitFor('relayed pings to work again', () => ping(E1, h, 1), 30_000);
      expect(Date.now() - start).toBeLessThan(30_000);
      await waitFor(
        'both back on the relay',
        async () => (await metric('burrow_relay_clients')) >= 4,
        20_000,
      );
    },
    T,
  );

  it(
    'bad input: garbage and packets to unknown keys are refused and counted; everyone else is served',
    async () => {
      const h = await ip(H);
      const refusedBefore = await metric('burrow_relay_refused{reason="handshake"}');
      // A client that upgrades and then sends garbage instead of a Noise handshake; and one with a
      // first frame that claims to be huge.
      const garbage = `
        const net = require('node:net');
        const [host, port, kind] = process.argv.slice(1);
        const s = net.connect(Number(port), host, () => {
          s.write('GET /relay/v1 HTTP/1.1\\r\\nHost: x\\r\\nConnection: Upgrade\\r\\nUpgrade: burrow-relay/1\\r\\n\\r\\n');
          setTimeout(() => s.write(kind === 'huge' ? Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]) : require('node:crypto').randomBytes(200)), 100);
        });
        s.on('data', () => {});
        s.on('close', () => process.exit(0));
        s.on('error', () => process.exit(0));
        setTimeout(() => process.exit(0), 5000);
      `;
      const [host, port] = new URL(lab.serverUrl).host.split(':') as [string, string];
      await Promise.all(['junk', 'huge'].map((k) => E1.ns.exec('node', ['-e', garbage, host, port, k])));
      await waitFor(
        'the refusals to be counted',
        async () => (await metric('burrow_relay_refused{reason="handshake"}')) >= refusedBefore + 2,
        10_000,
      );
      // S goes away: E1's packets to it reach the relay for a key that is not connected.
      const s = await ip(S);
      const unknownBefore = await metric('burrow_relay_dropped{reason="unknownDestination"}');
      await S.burrow('down');
      await ping(E1, s, 1);
      await waitFor(
        'the unknown destination to be counted',
        async () => (await metric('burrow_relay_dropped{reason="unknownDestination"}')) > unknownBefore,
        10_000,
      );
      // Everyone else is still served.
      expect(await ping(E1, h, 5)).toBe(true);
      expect(await ping(H, await ip(E2), 5)).toBe(true);
    },
    T,
  );
});
