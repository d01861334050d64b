/**
 * A mesh node's native fast path, end to end: burrow-server and two burrowd (A and B, one network,
 * on the lab LAN, so their path goes direct). Once direct, a bulk TCP stream goes through the fast
 * path (its figures in `burrow status --json`), whole; the packet filter still judges what the fast
 * path cannot be sure of: under Shields Up no new connection gets in, while replies to what the
 * device sent (TCP, and UDP and pings, whose flows the fast path reports to the filter) still do.
 * Policy and sharing (quarantine) refusals run with the fast path in test/e2e/mesh.test.ts.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';

const T = 90_000;
const BYTES = 32 << 20;

/** The 64 KiB the stream repeats: not all alike, so a misplaced segment changes the hash. */
const PATTERN = 'Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7 + (i >> 8)) & 255))';
const pattern = () => Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7 + (i >> 8)) & 255));

describe.skipIf(!isRoot())('the fast path in a mesh, end to end', () => {
  let lab: MeshLab;
  let A: LabDevice;
  let B: LabDevice;
  const ip = async (d: LabDevice) => (await d.status()).self!.ips[0]!;
  const fast = async (d: LabDevice) => {
    const f = (await d.status()).fastPath;
    if (f == null) throw new Error(`${d.name} reports no fast path`);
    return f;
  };
  /** Runs a node script in the device's namespace; its standard output, or null if it failed. */
  const node = (d: LabDevice, script: string, timeout = 20_000) =>
    d.ns.exec('node', ['-e', script], { timeout }).then(
      (r) => r.stdout.trim(),
      () => null,
    );

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'home');
    await lab.startServer();
    A = await lab.device('a');
    B = await lab.device('b');
    for (const d of [A, B]) await lab.join(d, 'alice');
    await waitFor(
      'A and B to see each other',
      async () => (await Promise.all([A, B].map((d) => d.status()))).every((s) => s.peers.length === 1),
      20_000,
    );
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'carries a direct TCP stream whole, and leaves next to nothing of it to the packet filter',
    async () => {
      const bIp = await ip(B);
      B.ns.spawn('node', [
        '-e',
        `const p = ${PATTERN}; require('node:net').createServer((s) => {
           for (let i = 0; i < ${BYTES / 65536}; i++) s.write(p);
           s.end();
         }).listen(9000, '${bIp}')`,
      ]);
      // A ping each way makes the sessions; the disco pings make the path direct.
      await waitFor(
        'a direct path both ways',
        async () => {
          await A.ns.exec('ping', ['-c', '1', '-W', '1', bIp]).catch(() => null);
          const [a, b] = await Promise.all([A.status(), B.status()]);
          return a.peers[0]!.path === 'direct' && b.peers[0]!.path === 'direct';
        },
        20_000,
      );
      const [a0, b0] = await Promise.all([fast(A), fast(B)]);
      const got = await node(
        A,
        `const h = require('node:crypto').createHash('sha256'); let n = 0;
         const s = require('node:net').connect(9000, '${bIp}');
         s.on('data', (d) => { n += d.length; h.update(d); });
         s.on('end', () => console.log(n + ' ' + h.digest('hex')));
         s.on('error', (e) => { console.error(e.message); process.exit(1); });`,
        60_000,
      );
      const expected = createHash('sha256');
      for (let i = 0; i < BYTES / 65536; i++) expected.update(pattern());
      expect(got).toBe(`${BYTES} ${expected.digest('hex')}`);
      const [a1, b1] = await Promise.all([fast(A), fast(B)]);
      // B's side sent the stream's segments (GSO datagrams count one each), A's wrote them.
      expect(b1.sent - b0.sent).toBeGreaterThan(BYTES / 1500);
      expect(a1.tunWrites - a0.tunWrites).toBeGreaterThan(100);
      // Only the connection's SYN needs the filter's judgment: every later segment is a sure pass.
      expect(b1.judged - b0.judged).toBeLessThan(20);
      expect(a1.judged - a0.judged).toBeLessThan(20);
    },
    T,
  );

  it(
    'under Shields Up with the fast path: no new connection gets in, replies to TCP, UDP and pings do',
    async () => {
      const aIp = await ip(A);
      const bIp = await ip(B);
      // A serves TCP and echoes UDP; B's sloth webcam on port 80 is what A must not reach.
      A.ns.spawn('node', [
        '-e',
        `require('node:http').createServer((q, r) => r.end('from A\\n')).listen(8080, '${aIp}');
         const u = require('node:dgram').createSocket('udp4');
         u.on('message', (m, r) => u.send(m, r.port, r.address)).bind(7000, '${aIp}');`,
      ]);
      B.ns.spawn('node', [
        '-e',
        `require('node:http').createServer((q, r) => r.end('sloth\\n')).listen(80, '${bIp}')`,
      ]);
      const get = (from: LabDevice, url: string) =>
        from.ns.exec('curl', ['-s', '--max-time', '2', url]).then(
          (r) => r.stdout,
          () => null,
        );
      const udpEcho = (from: LabDevice) =>
        node(
          from,
          `const u = require('node:dgram').createSocket('udp4');
           setTimeout(() => process.exit(1), 2000);
           u.on('message', (m) => { console.log(m.toString()); process.exit(0); });
           u.send('echo me', 7000, '${aIp}');`,
        );
      await waitFor(
        'A to reach the webcam',
        async () => (await get(A, `http://${bIp}/`)) === 'sloth\n',
        10_000,
      );
      expect((await B.burrow('set', '--shields-up=true')).code).toBe(0);
      await waitFor('shields up to hold', async () => (await get(A, `http://${bIp}/`)) === null, 5_000);
      const before = await fast(B);
      await waitFor(
        'B to reach A over TCP',
        async () => (await get(B, `http://${aIp}:8080/`)) === 'from A\n',
        5_000,
      );
      expect(await udpEcho(B)).toBe('echo me');
      await B.ns.exec('ping', ['-c', '1', '-W', '2', aIp]); // throws without a reply
      expect(await get(A, `http://${bIp}/`)).toBeNull();
      expect(
        await A.ns.exec('ping', ['-c', '1', '-W', '1', bIp]).then(
          () => true,
          () => false,
        ),
      ).toBe(false);
      // The replies reached B through the fast path, and the filter judged the ones not sure to pass.
      const after = await fast(B);
      expect(after.sent).toBeGreaterThan(before.sent);
      expect(after.judged).toBeGreaterThan(before.judged);
      expect((await B.status()).peers[0]!.path).toBe('direct');
      expect((await B.burrow('set', '--shields-up=false')).code).toBe(0);
      await waitFor('A to reach B again', async () => (await get(A, `http://${bIp}/`)) === 'sloth\n', 5_000);
    },
    T,
  );
});
