/**
 * `burrow trace`, end to end (issue 18): each outcome a user can meet, between real processes
 * (burrow-server with its relay, one burrowd per device in its own namespace), each checked by the
 * CLI's exit code and the cause it names.
 *
 * Cast: alice and bob share the network "team"; yves has his own.
 *   A (alice's laptop), B (bob's webcam: a web server on port 80), C (bob's: a subnet router, later
 *   an exit node), D (yves's; bob shares B with him), E (alice's, behind a firewall that drops all
 *   UDP between it and B: it reaches B only through the relay).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeProbeMessage } from '../../src/trace/probe-message.js';
import { PROBE_IP_PROTOCOL } from '../../src/trace/probe-packet.js';
import { INTERNET_IP, type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';
import { sendRawIp } from '../support/raw-ip.js';

const T = 60_000;

interface ProbeCounters {
  answered: number;
  refused: { reason: string; count: number }[];
}

interface Report {
  delivered: boolean;
  blockedAt: string | null;
  cause: string | null;
  fix: string | null;
  exitCode: number;
  stages: { name: string; status: string; summary: string; details: { label: string; value: string }[] }[];
}

describe.skipIf(!isRoot())('burrow trace, end to end', () => {
  let lab: MeshLab;
  let A: LabDevice;
  let B: LabDevice;
  let C: LabDevice;
  let D: LabDevice;
  let E: LabDevice;
  const ip = async (d: LabDevice) => (await d.status()).self!.ips[0]!;
  const peersOf = async (d: LabDevice) => (await d.status()).peers.map((p) => p.hostName).sort();

  /** `burrow trace ARGS --json` on `from`: its exit code and its report. */
  const trace = async (from: LabDevice, ...args: string[]) => {
    const r = await from.burrow('trace', ...args, '--json');
    if (r.stdout === '') throw new Error(`burrow trace ${args.join(' ')}: ${r.code} ${r.stderr}`);
    return { code: r.code, err: r.stderr, report: JSON.parse(r.stdout) as Report };
  };
  const stage = (r: Report, name: string) => r.stages.find((s) => s.name === name)!;
  /** B's counters of the trace probes it received. */
  const probesAt = async (d: LabDevice) => {
    const t = ((await d.status()) as { traceProbes?: ProbeCounters }).traceProbes!;
    const refused = (reason: string) => t.refused.find((r) => r.reason === reason)?.count ?? 0;
    return { answered: t.answered, refused };
  };
  /** A probe request about a TCP packet from `src` to `dst`:`port`, as a peer's burrowd would send it. */
  const request = (n: number, src: string, dst: string, port: number) =>
    encodeProbeMessage({
      type: 'request',
      id: n.toString(16).padStart(16, '0'),
      protocol: 'tcp',
      src,
      dst,
      port,
      askListening: false,
    });

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'team');
    await lab.admin('users', 'create', 'bob', '--network', 'team');
    await lab.admin('users', 'create', 'yves');
    await lab.startServer();
    [A, B, C, D, E] = (await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => lab.device(n)))) as [
      LabDevice,
      LabDevice,
      LabDevice,
      LabDevice,
      LabDevice,
    ];
    // Before any packet: E and B never hear each other directly.
    await E.ns.exec('nft', ['-f', '-'], {
      input: `table inet noudp {
  chain input { type filter hook input priority filter; policy accept; ip saddr ${B.lanIp} meta l4proto udp drop; }
  chain output { type filter hook output priority filter; policy accept; ip daddr ${B.lanIp} meta l4proto udp drop; }
}
`,
    });
    for (const [device, user] of [
      [A, 'alice'],
      [B, 'bob'],
      [C, 'bob'],
      [D, 'yves'],
      [E, 'alice'],
    ] as const)
      await lab.join(device, user);
    await waitFor(
      'the team to see each other',
      async () => (await peersOf(A)).join() === 'b,c,e' && (await peersOf(E)).join() === 'a,b,c',
      30_000,
    );
    B.ns.spawn('node', [
      '-e',
      `require('node:http').createServer((q, r) => r.end('sloth\\n')).listen(80, '${await ip(B)}')`,
    ]);
    await waitFor(
      'the webcam to listen',
      async () => (await B.ns.exec('ss', ['-Hltn', 'sport = :80'])).stdout.includes('LISTEN'),
      10_000,
    );
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'delivered over a direct path: every stage passes and it exits 0',
    async () => {
      const r = await trace(A, 'b:80');
      expect(r.code, JSON.stringify(r.report, null, 1)).toBe(0);
      expect(r.report.delivered).toBe(true);
      expect(stage(r.report, 'destination').summary).toContain(await ip(B));
      expect(stage(r.report, 'route').summary).toBe(
        `table 52 through rule 5270 to burrow0 (${await ip(B)}/32)`,
      );
      expect(stage(r.report, 'path').summary).toMatch(
        new RegExp(`^direct to ${B.lanIp.replace(/\./g, '\\.')}:\\d+`),
      );
      expect(stage(r.report, 'peer-verdict').status).toBe('ok');
      expect(stage(r.report, 'delivery').summary).toContain('SYN-ACK');
      const text = await A.burrow('trace', 'b:80');
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^7\. Delivery +ok +SYN answered by SYN-ACK/m);
      expect(text.stdout).toMatch(/^delivered/m);
      // The SYN-ACK was reset, not answered by A's kernel: no connection is left on B.
      const est = await B.ns.exec('ss', ['-Htn', 'state', 'established', 'sport = :80']);
      expect(est.stdout.trim()).toBe('');
      // A ping is traced too, by a name and by an address.
      expect((await trace(A, 'b')).code).toBe(0);
      expect((await trace(A, await ip(B))).code).toBe(0);
      // And over IPv6, by B's address in the network's ULA.
      const v6 = (await B.status()).self!.ips.find((a) => a.includes(':'))!;
      const six = await trace(A, v6);
      expect(six.code, JSON.stringify(six.report, null, 1)).toBe(0);
      expect(stage(six.report, 'delivery').summary).toBe('b answered the ping');
    },
    T,
  );

  it(
    'delivered via the relay when UDP between the devices is blocked',
    async () => {
      const r = await trace(E, 'b:80');
      expect(r.code, JSON.stringify(r.report, null, 1)).toBe(0);
      expect(stage(r.report, 'path').summary).toBe('through the relay burrow-server');
    },
    T,
  );

  it(
    'nothing listening: the RST names the port',
    async () => {
      const r = await trace(A, 'b:81');
      expect(r.code).toBe(1);
      expect(r.report.blockedAt).toBe('delivery');
      expect(r.report.cause).toBe('nothing is listening on b:81');
      const text = await A.burrow('trace', 'b:81');
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('blocked at Delivery: nothing is listening on b:81');
    },
    T,
  );

  it(
    'UDP: a port unreachable means nothing listens; silence is open or filtered',
    async () => {
      B.ns.spawn('node', [
        '-e',
        `require('node:dgram').createSocket('udp4').on('message', () => {}).bind(5353, '${await ip(B)}')`,
      ]);
      await waitFor(
        'the UDP listener',
        async () => (await B.ns.exec('ss', ['-Hlun', 'sport = :5353'])).stdout.includes('5353'),
        10_000,
      );
      const open = await trace(A, 'b:5353', '--udp');
      expect(open.code, JSON.stringify(open.report, null, 1)).toBe(0);
      expect(stage(open.report, 'delivery').summary).toContain('no port unreachable came back');
      const closed = await trace(A, 'b:5354', '--udp');
      expect(closed.code).toBe(1);
      expect(closed.report.cause).toBe('nothing is listening on b:5354 (udp)');
    },
    T,
  );

  it(
    'Shields Up on the peer: its owner is named',
    async () => {
      expect((await B.burrow('set', '--shields-up=true')).code).toBe(0);
      try {
        const r = await trace(A, 'b:80');
        expect(r.code).toBe(1);
        expect(r.report.blockedAt).toBe('peer-verdict');
        expect(r.report.cause).toBe('bob has Shields Up on b');
        expect(r.report.fix).toContain('--shields-up=false');
      } finally {
        expect((await B.burrow('set', '--shields-up=false')).code).toBe(0);
      }
    },
    T,
  );

  it(
    'a policy deny names the network and who may not reach what; an allow names the rule',
    async () => {
      const deny = join(lab.dir, 'deny.hujson');
      const allow = join(lab.dir, 'allow.hujson');
      writeFileSync(
        deny,
        `{"acls": [{"action": "accept", "src": ["bob"], "dst": ["*:*"]}, {"action": "accept", "src": ["alice"], "dst": ["${await ip(B)}:80"]}]}`,
      );
      writeFileSync(allow, '{"acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["*:*"]}]}');
      await lab.admin('policy', 'set', deny, '--network', 'team');
      try {
        await waitFor('the deny to reach C', async () => (await trace(A, 'c:22')).code === 1, 10_000, 200);
        const r = await trace(A, 'c:22');
        expect(r.report.blockedAt).toBe('peer-verdict');
        expect(r.report.cause).toBe('policy of network team has no rule letting alice reach c:22');
        // B's port 80 is let in by the second rule: the report names it (to root, as here).
        const ok = await trace(A, 'b:80');
        expect(ok.code).toBe(0);
        expect(stage(ok.report, 'peer-verdict').summary).toBe('b lets it in by policy rule 1');
      } finally {
        await lab.admin('policy', 'set', allow, '--network', 'team');
      }
    },
    T,
  );

  it(
    'quarantine: a shared device may not start a connection to the one it is shared with',
    async () => {
      const created = await C.burrow('share', 'create', 'b', '--to', 'yves');
      expect(created.code, created.stderr).toBe(0);
      const list = JSON.parse((await D.burrow('share', 'list', '--json')).stdout);
      const pending = list.incoming.find((i: { device: string }) => i.device === 'b');
      expect((await D.burrow('share', 'accept', pending.id)).code).toBe(0);
      await waitFor('B to see D', async () => (await peersOf(B)).includes('d'), 10_000);
      D.ns.spawn('node', [
        '-e',
        `require('node:http').createServer((q, r) => r.end('d\\n')).listen(8080, '${await ip(D)}')`,
      ]);
      const r = await trace(B, 'd:8080');
      expect(r.code).toBe(1);
      expect(r.report.blockedAt).toBe('peer-verdict');
      expect(r.report.cause).toContain('a shared device may not start connections (quarantine)');
      // The other way round is what the share is for.
      expect((await trace(D, 'b:80')).code).toBe(0);
    },
    T,
  );

  it(
    'no route: a subnet offered without --accept-routes',
    async () => {
      expect((await C.burrow('set', '--advertise-routes=10.77.0.0/24')).code).toBe(0);
      await lab.admin('routes', 'approve', 'c', '10.77.0.0/24');
      await waitFor(
        'A to hear of the route',
        async () =>
          (await A.status()).peers.some((p) => p.hostName === 'c' && p.routes.includes('10.77.0.0/24')),
        10_000,
      );
      const r = await trace(A, '10.77.0.5:80');
      expect(r.code).toBe(1);
      expect(r.report.blockedAt).toBe('route');
      expect(r.report.cause).toBe('route 10.77.0.0/24 is offered by c but --accept-routes is off');
      expect(r.report.fix).toContain('--accept-routes=true');
    },
    T,
  );

  it(
    'exit node missing: internet traffic fails closed, and the trace says so',
    async () => {
      await lab.chooseExitNode(C, A);
      expect((await C.burrow('set', '--advertise-exit-node=false')).code).toBe(0);
      await waitFor(
        'A to lose its exit node',
        async () =>
          ((await A.status()) as { health?: string[] }).health?.some((h) => h.includes('unavailable')) ??
          false,
        10_000,
      );
      try {
        const r = await trace(A, `${INTERNET_IP}:80`);
        expect(r.code).toBe(1);
        expect(stage(r.report, 'route').summary).toMatch(/^the exit node's default route: table 52/);
        expect(r.report.blockedAt).toBe('inside');
        expect(r.report.cause).toBe(
          'exit node c is missing, so traffic for the internet is dropped (fail closed)',
        );
      } finally {
        expect((await A.burrow('set', '--exit-node=')).code).toBe(0);
      }
    },
    T,
  );

  it(
    'a probe forged by another device about a source not its own is refused, and not answered',
    async () => {
      const before = await probesAt(B);
      // E asks B about a packet from A: the tunnel says the probe is E's, so B refuses it.
      await sendRawIp(E.ns, await ip(B), PROBE_IP_PROTOCOL, [request(1, await ip(A), await ip(B), 80)]);
      await waitFor(
        'B to refuse it',
        async () => (await probesAt(B)).refused('foreign-source') === before.refused('foreign-source') + 1,
        5_000,
      );
      expect((await probesAt(B)).answered).toBe(before.answered);
      // E's own question is answered: the refusal was about the source.
      await sendRawIp(E.ns, await ip(B), PROBE_IP_PROTOCOL, [request(2, await ip(E), await ip(B), 80)]);
      await waitFor('B to answer E', async () => (await probesAt(B)).answered === before.answered + 1, 5_000);
    },
    T,
  );

  it(
    'a probe flood is rate-limited and counted, and traffic and other traces go on',
    async () => {
      const before = await probesAt(B);
      const e = await ip(E);
      const b = await ip(B);
      const flood = sendRawIp(
        E.ns,
        b,
        PROBE_IP_PROTOCOL,
        Array.from({ length: 2000 }, (_, i) => request(1000 + i, e, b, 1 + (i % 65535))),
        1,
      );
      // Meanwhile A's trace and E's own connection to the webcam get through.
      expect((await trace(A, 'b:80')).code).toBe(0);
      expect((await E.ns.exec('curl', ['-s', '--max-time', '5', `http://${b}/`])).stdout).toBe('sloth\n');
      await flood;
      // Until B's counters stop moving.
      let seen = -1;
      await waitFor(
        'B to count the flood',
        async () => {
          const now = await probesAt(B);
          const total = now.answered + now.refused('rate-limited');
          const still = total === seen;
          seen = total;
          return still;
        },
        10_000,
        500,
      );
      const after = await probesAt(B);
      const limited = after.refused('rate-limited') - before.refused('rate-limited');
      const answered = after.answered - before.answered;
      console.log(`probe flood: ${answered} answered, ${limited} rate-limited of 2000 sent`);
      // About the burst (20) and 10 a second were answered; the rest refused.
      expect(limited).toBeGreaterThan(1500);
      expect(answered).toBeLessThan(200);
    },
    T,
  );

  it(
    'peer offline: the map says for how long',
    async () => {
      await C.stop();
      try {
        await waitFor(
          'A to see C offline',
          async () =>
            (await A.status()).peers.some((p) => p.hostName === 'c' && !(p as { online?: boolean }).online),
          30_000,
        );
        const r = await trace(A, 'c:22');
        expect(r.code).toBe(1);
        expect(r.report.blockedAt).toBe('wireguard');
        expect(r.report.cause).toMatch(/^c has been offline for \d+ s$/);
      } finally {
        await C.start();
      }
    },
    T,
  );
});
