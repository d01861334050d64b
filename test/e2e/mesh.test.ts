/**
 * The journey of a packet, end to end, between real processes: burrow-server, one burrowd per
 * device (each in its own namespace, on a shared LAN), driven through the burrow CLI. The programs
 * are the checkout's or, with BURROW_PROGRAMS set, the packaged ones (support/programs.ts).
 *
 * Cast: alice and bob share the network "team"; yves has a network of his own.
 *   A (alice), B (bob, with the sloth webcam on port 80), C (bob; becomes an exit node), D (yves).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNET_IP, type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';
import { BURROW } from '../support/programs.js';

const T = 120_000;

describe.skipIf(!isRoot())('mesh, end to end', () => {
  let lab: MeshLab;
  let A: LabDevice;
  let B: LabDevice;
  let C: LabDevice;
  let D: LabDevice;
  const ip = async (d: LabDevice) => (await d.status()).self!.ips[0]!;
  const ping = (from: LabDevice, to: string, wait = 1) =>
    from.ns.exec('ping', ['-c', '1', '-W', String(wait), to]).then(
      () => true,
      () => false,
    );
  const curl = (from: LabDevice, url: string, seconds = 2) =>
    from.ns.exec('curl', ['-s', '--max-time', String(seconds), url]).then(
      (r) => r.stdout,
      () => null,
    );
  const peersOf = async (d: LabDevice) => (await d.status()).peers.map((p) => p.hostName).sort();

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'team');
    await lab.admin('users', 'create', 'bob', '--network', 'team');
    await lab.admin('users', 'create', 'yves');
    await lab.startServer();
    [A, B, C, D] = (await Promise.all(['a', 'b', 'c', 'd'].map((n) => lab.device(n)))) as [
      LabDevice,
      LabDevice,
      LabDevice,
      LabDevice,
    ];
    const owners: [LabDevice, string][] = [
      [A, 'alice'],
      [B, 'bob'],
      [C, 'bob'],
      [D, 'yves'],
    ];
    for (const [device, user] of owners) {
      await lab.join(device, user);
    }
    await waitFor(
      'every device running',
      async () => {
        const states = await Promise.all([A, B, C, D].map((d) => d.status()));
        return states.every((s) => s.backendState === 'running');
      },
      30_000,
    );
    // The sloth webcam, on B's mesh address.
    B.ns.spawn('node', [
      '-e',
      `require('node:http').createServer((q, r) => r.end('sloth\\n')).listen(80, '${await ip(B)}')`,
    ]);
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'inside a network devices reach each other; across networks nothing is visible',
    async () => {
      await waitFor('A to see B and C', async () => (await peersOf(A)).join() === 'b,c', 10_000);
      expect(await peersOf(D)).toEqual([]);
      expect(await ping(A, await ip(B), 3)).toBe(true);
      expect(await ping(C, await ip(A), 3)).toBe(true);
      await waitFor(
        'the sloth webcam',
        async () => (await curl(A, `http://${await ip(B)}/`)) === 'sloth\n',
        10_000,
      );
      expect(await ping(D, await ip(B))).toBe(false);
      // What users get: the fast path carries the tunnels, so the filter tests below run with it.
      expect((await A.status()).fastPath).toEqual(expect.objectContaining({ sent: expect.any(Number) }));
    },
    T,
  );

  it(
    'Shields Up on B refuses new inbound connections, pings included, while B reaches out both ways',
    async () => {
      const bIp = await ip(B);
      const aIp = await ip(A);
      A.ns.spawn('node', [
        '-e',
        `require('node:http').createServer((q, r) => r.end('from A\\n')).listen(8080, '${aIp}')`,
      ]);
      expect((await B.burrow('set', '--shields-up=true')).code).toBe(0);
      await waitFor('shields up to hold', async () => !(await ping(A, bIp)), 5_000);
      expect(await curl(A, `http://${bIp}/`)).toBeNull(); // a new TCP connection to B fails
      expect(await ping(B, aIp, 2)).toBe(true); // B's own ping gets its reply
      await waitFor(
        'B to reach A over TCP',
        async () => (await curl(B, `http://${aIp}:8080/`)) === 'from A\n',
        5_000,
      );
      expect((await B.burrow('set', '--shields-up=false')).code).toBe(0);
      await waitFor('access to B again', async () => (await curl(A, `http://${bIp}/`)) === 'sloth\n', 5_000);
    },
    T,
  );

  it(
    'a policy denying A->C takes effect within a second, and so does allowing it again',
    async () => {
      const cIp = await ip(C);
      const deny = join(lab.dir, 'deny.hujson');
      const allow = join(lab.dir, 'allow.hujson');
      writeFileSync(
        deny,
        `{"acls": [{"action": "accept", "src": ["bob"], "dst": ["*:*"]}, {"action": "accept", "src": ["alice"], "dst": ["${await ip(B)}:*"]}]}`,
      );
      writeFileSync(allow, '{"acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["*:*"]}]}');
      expect(await ping(A, cIp, 2)).toBe(true);
      await lab.admin('policy', 'set', deny, '--network', 'team');
      let t0 = Date.now();
      await waitFor('A->C to be refused', async () => !(await ping(A, cIp, 0.2)), 5_000, 20);
      const denyMs = Date.now() - t0;
      expect(await ping(A, await ip(B), 2)).toBe(true); // A->B is still allowed
      await lab.admin('policy', 'set', allow, '--network', 'team');
      t0 = Date.now();
      await waitFor('A->C to pass again', async () => ping(A, cIp, 0.2), 5_000, 20);
      const allowMs = Date.now() - t0;
      expect(denyMs).toBeLessThan(1500); // 1 s, plus the 0.2 s a probe waits
      expect(allowMs).toBeLessThan(1500);
    },
    T,
  );

  it(
    'sharing: Y accepts B; D reaches B, B cannot start a connection to D, and a revoke removes B at once',
    async () => {
      // D's event stream (what the app follows) hears of the invite as it is made.
      let events = '';
      const stream = D.ns.spawn('curl', [
        '-sN',
        '--unix-socket',
        D.socket,
        'http://local/localapi/v1/events',
      ]);
      stream.stdout?.on('data', (d) => (events += d));
      await waitFor('the event stream', async () => events.includes('"type":"netmap"'), 5_000);
      const created = await C.burrow('share', 'create', 'b', '--to', 'yves');
      expect(created.code, created.stderr).toBe(0); // C is bob's: bob shares his device B
      await waitFor(
        'an invites event on D',
        async () => /"type":"invites".*"device":"b","owner":"bob"/.test(events),
        5_000,
      );
      stream.kill();
      const list = JSON.parse((await D.burrow('share', 'list', '--json')).stdout);
      const pending = list.incoming.find(
        (i: { device: string; state: string }) => i.device === 'b' && i.state === 'pending',
      );
      expect(pending).toBeDefined();
      const accepted = await D.burrow('share', 'accept', pending.id);
      expect(accepted.code, accepted.stderr).toBe(0);
      await waitFor('D to see B', async () => (await peersOf(D)).includes('b'), 5_000);
      // By its name in its owner's network: yves has no device called b, so b alone works too.
      expect((await D.status()).peers.find((p) => p.hostName === 'b')).toMatchObject({
        shortName: 'b',
        dnsName: 'b.team.burrow.internal',
      });
      const bIp = await ip(B);
      const dIp = await ip(D);
      await waitFor(
        'D to reach the sloth webcam',
        async () => (await curl(D, `http://${bIp}/`)) === 'sloth\n',
        10_000,
      );
      expect(await peersOf(B)).toContain('d'); // B sees D (its recipient) ...
      expect(await ping(B, dIp, 2)).toBe(false); // ... but may not start a connection to it
      const shares = JSON.parse((await C.burrow('share', 'list', '--json')).stdout);
      const share = shares.accepted.find(
        (a: { device: string; recipient: string }) => a.device === 'b' && a.recipient === 'yves',
      );
      const t0 = Date.now();
      const revoked = await C.burrow('share', 'revoke', share.id);
      expect(revoked.code, revoked.stderr).toBe(0);
      await waitFor('B to leave D', async () => !(await peersOf(D)).includes('b'), 5_000, 20);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(await curl(D, `http://${bIp}/`, 1)).toBeNull();
    },
    T,
  );

  it(
    'exit node: C is approved and A sends its internet traffic through it, failing closed when C stops',
    async () => {
      lab.internet.spawn('node', [
        '-e',
        `require('node:http').createServer((q, r) => r.end(q.socket.remoteAddress)).listen(80, '${INTERNET_IP}')`,
      ]);
      const web = `http://${INTERNET_IP}/`;
      await waitFor('the internet host', async () => (await curl(A, web)) === A.lanIp, 10_000);
      await lab.chooseExitNode(C, A);
      await waitFor(
        'A to reach the internet through C',
        async () => (await curl(A, web)) === C.lanIp,
        10_000,
      );
      expect((await A.burrow('set', '--exit-node=')).code).toBe(0);
      await waitFor('the direct path again', async () => (await curl(A, web)) === A.lanIp, 10_000);
      expect((await A.burrow('set', '--exit-node=c')).code).toBe(0);
      await waitFor('through C again', async () => (await curl(A, web)) === C.lanIp, 10_000);
      // The LAN goes through C too, unless LAN access is allowed (throw routes): a LAN host tells.
      const lanWeb = `http://${B.lanIp}:8081/`;
      B.ns.spawn('node', [
        '-e',
        `require('node:http').createServer((q, r) => r.end(q.socket.remoteAddress)).listen(8081, '${B.lanIp}')`,
      ]);
      await waitFor('the LAN host, through C', async () => (await curl(A, lanWeb)) === C.lanIp, 10_000);
      expect((await A.burrow('set', '--exit-node-allow-lan-access=true')).code).toBe(0);
      await waitFor('the LAN host, directly', async () => (await curl(A, lanWeb)) === A.lanIp, 10_000);
      expect(await curl(A, web)).toBe(C.lanIp); // the internet still goes through C
      expect((await A.burrow('set', '--exit-node-allow-lan-access=false')).code).toBe(0);
      expect((await C.burrow('down')).code).toBe(0);
      expect(await curl(A, web, 3)).toBeNull(); // fails closed: never the direct path
      expect((await C.burrow('up')).code).toBe(0);
      // Within seconds: A starts a fresh handshake when C returns (it would wait ~15 s otherwise).
      await waitFor('through C once it is back', async () => (await curl(A, web)) === C.lanIp, 5_000);
      expect((await A.burrow('set', '--exit-node=')).code).toBe(0);
    },
    T,
  );

  it(
    'the server going down leaves tunnels working, even across a burrowd restart; after its restart changes flow again',
    async () => {
      await lab.stopServer();
      const bIp = await ip(B);
      expect(await ping(A, bIp, 2)).toBe(true);
      await A.restart(); // no server, no login: the tunnel comes back from the last map
      await waitFor('A running again', async () => (await A.status()).backendState === 'running', 10_000);
      await waitFor('A to reach B again', async () => ping(A, bIp, 1), 10_000);
      await lab.startServer();
      const e = await lab.device('e');
      await lab.join(e, 'alice');
      await waitFor('A to hear of E', async () => (await peersOf(A)).includes('e'), 20_000);
      expect(await ping(A, await ip(e), 3)).toBe(true);
    },
    T,
  );

  it(
    'subnet routes: C serves a LAN prefix, reached by A only with --accept-routes',
    async () => {
      // C's own LAN, behind it: a veth pair inside C's namespace.
      await C.ns.exec('ip', ['link', 'add', 'lan77', 'type', 'veth', 'peer', 'name', 'lan77p']);
      await C.ns.exec('ip', ['addr', 'add', '10.77.0.1/24', 'dev', 'lan77']);
      await C.ns.exec('ip', ['link', 'set', 'lan77', 'up']);
      await C.ns.exec('ip', ['link', 'set', 'lan77p', 'up']);
      expect((await C.burrow('set', '--advertise-routes=10.77.0.0/24')).code).toBe(0);
      await waitFor(
        'the route to be advertised',
        async () => (await lab.admin('devices', 'list', '--json')).includes('"10.77.0.0/24"'),
        // Each probe starts the admin CLI (a second or more under load): 5 s allowed only a few.
        15_000,
      );
      await lab.admin('routes', 'approve', 'c', '10.77.0.0/24');
      await waitFor(
        'A to see the route',
        async () =>
          (await A.status()).peers.some((p) => p.hostName === 'c' && p.routes.includes('10.77.0.0/24')),
        5_000,
      );
      expect(await ping(A, '10.77.0.1')).toBe(false); // not without --accept-routes
      expect((await A.burrow('set', '--accept-routes=true')).code).toBe(0);
      await waitFor('A to reach the subnet through C', async () => ping(A, '10.77.0.1', 1), 10_000);
      expect((await A.burrow('set', '--accept-routes=false')).code).toBe(0);
    },
    T,
  );

  it(
    'the LocalAPI lets another uid read status but not change prefs, and survives bad requests',
    async () => {
      chmodSync(lab.dir, 0o755);
      const asNobody = (...args: string[]) =>
        A.ns
          .exec('setpriv', [
            '--reuid',
            '65534',
            '--regid',
            '65534',
            '--clear-groups',
            BURROW,
            '--socket',
            A.socket,
            ...args,
          ])
          .then(
            (r) => ({ ok: true, out: r.stdout }),
            (e: Error) => ({ ok: false, out: e.message }),
          );
      const read = await asNobody('status', '--json');
      expect(read.ok, read.out).toBe(true);
      const change = await asNobody('set', '--shields-up=true');
      expect(change.ok).toBe(false);
      expect(change.out).toMatch(/only root or the operator/);
      for (const body of ['{"shieldsUp": ', '{"shieldsUp": 1}', `{"hostname": "${'x'.repeat(70_000)}"}`]) {
        const r = await A.ns.exec('curl', [
          '-s',
          '--unix-socket',
          A.socket,
          '-X',
          'PATCH',
          '--data-binary',
          body,
          'http://local/localapi/v1/prefs',
        ]);
        expect(JSON.parse(r.stdout).error).toBeTruthy();
      }
      const unknown = await A.ns.exec('curl', [
        '-s',
        '--unix-socket',
        A.socket,
        'http://local/localapi/v1/nope',
      ]);
      expect(JSON.parse(unknown.stdout).error).toMatch(/unknown operation/);
      expect((await A.status()).shieldsUp).toBe(false);
    },
    T,
  );

  it(
    'interactive login: burrow up prints a URL, the user signs in in a browser, and the device comes up',
    async () => {
      const pw = join(lab.dir, 'lena.pw');
      writeFileSync(pw, 'sloths are fast\n');
      await lab.admin('users', 'create', 'lena', '--network', 'team', '--password-file', pw);
      const F = await lab.device('f');
      const up = F.ns.spawn(BURROW, [
        '--socket',
        F.socket,
        'up',
        '--login-server',
        lab.serverUrl,
        '--hostname',
        'f',
      ]);
      let said = '';
      up.stderr?.on('data', (d) => (said += d));
      const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
      const url = await waitFor(
        'the login URL',
        async () => /To authenticate, visit:\s+(\S+)/.exec(said)?.[1],
        10_000,
      );
      expect(url.startsWith(`${lab.serverUrl}/login/`)).toBe(true);
      // The browser: the sign-in form, posted.
      const form = await F.ns.exec('curl', [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--data',
        'name=lena&password=sloths are fast',
        url,
      ]);
      expect(form.stdout).toBe('200');
      expect(await exited).toBe(0);
      expect((await F.status()).backendState).toBe('running');
      await waitFor('A to see F', async () => (await peersOf(A)).includes('f'), 10_000);
    },
    T,
  );

  it(
    "an admin's rename reaches the peers' status within a second, the short and the full name",
    async () => {
      const names = async () =>
        (await A.status()).peers
          .filter((p) => p.hostName.startsWith('c'))
          .map((p) => `${p.shortName} ${p.dnsName}`);
      expect(await names()).toEqual(['c c.team.burrow.internal']);
      await lab.admin('devices', 'rename', 'c', 'cam', '--network', 'team');
      const t0 = Date.now();
      await waitFor(
        'the new names',
        async () => (await names()).join() === 'cam cam.team.burrow.internal',
        5_000,
        20,
      );
      expect(Date.now() - t0).toBeLessThan(1000);
      const self = (await C.status()).self!;
      expect([self.hostName, self.shortName, self.dnsName]).toEqual([
        'cam',
        'cam',
        'cam.team.burrow.internal',
      ]);
      await lab.admin('devices', 'rename', 'cam', 'c', '--network', 'team');
    },
    T,
  );
});
