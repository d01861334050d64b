/**
 * MagicDNS end to end (issue 17): real burrow-server, one real burrowd per device namespace, each
 * namespace with its own /etc/netns/NAME/resolv.conf naming the lab's DNS server (dnsmasq on the
 * "internet" host), which is the resolver the devices had before Burrow. Programs resolve as
 * programs do: glibc (`getent`, `curl`) reading that resolv.conf.
 *
 * Cast: alice's laptop A, her webcam W (the sloth page on port 80) and her subnet router R (the
 * corp LAN 10.77.0.0/24 behind it, with the corp name server); carol's phone C, with whom the
 * webcam is shared; erin's E, who sees nothing of theirs.
 */
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNET_IP, type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, link, Netns, waitFor } from '../support/netns.js';
import { BURROW } from '../support/programs.js';

const T = 120_000;
const DNS_ASK = join(import.meta.dirname, '../support/dns-ask.ts');
const BIG = Array.from({ length: 60 }, (_, i) => `198.51.100.${100 + i}`);

interface Asked {
  timeout?: boolean;
  closed?: boolean;
  rcode?: string;
  tc?: boolean;
  size?: number;
  answers?: string[];
}

describe.skipIf(!isRoot())('MagicDNS, end to end', () => {
  let lab: MeshLab;
  let A: LabDevice;
  let W: LabDevice;
  let R: LabDevice;
  let C: LabDevice;
  let E: LabDevice;
  const ip = async (d: LabDevice) => (await d.status()).self!.ips[0]!;
  const ip6 = async (d: LabDevice) => (await d.status()).self!.ips.find((a) => a.includes(':'))!;
  const resolvConf = (ns: Netns) => `/etc/netns/${ns.name}/resolv.conf`;
  /** What glibc makes of a name in the namespace, as programs get it: the addresses, or null. */
  const getent = (ns: Netns, name: string) =>
    ns.exec('getent', ['ahostsv4', name]).then(
      (r) =>
        [
          ...new Set(
            r.stdout
              .split('\n')
              .map((l) => l.split(/\s+/)[0])
              .filter(Boolean),
          ),
        ].join(','),
      () => null,
    );
  const ask = async (ns: Netns, ...args: string[]): Promise<Asked> =>
    JSON.parse((await ns.exec(process.execPath, ['--import', 'tsx', DNS_ASK, ...args])).stdout);
  const dnsStatus = async (d: LabDevice) => JSON.parse((await d.burrow('dns', 'status', '--json')).stdout);
  const ok = async (p: Promise<{ code: number; stderr: string }>) => {
    const r = await p;
    if (r.code !== 0) throw new Error(r.stderr);
  };

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'family');
    await lab.admin('users', 'create', 'carol', '--network', 'carol');
    await lab.admin('users', 'create', 'erin', '--network', 'erin');
    await lab.startServer();
    // The resolver every device had before Burrow.
    await lab.startDns({ 'www.example': '198.51.100.80', 'big.example': BIG });
    [A, W, R, C, E] = (await Promise.all(
      ['laptop', 'webcam', 'router', 'phone', 'erin'].map((n) => lab.device(n)),
    )) as [LabDevice, LabDevice, LabDevice, LabDevice, LabDevice];
    const owners: [LabDevice, string][] = [
      [A, 'alice'],
      [W, 'alice'],
      [R, 'alice'],
      [C, 'carol'],
      [E, 'erin'],
    ];
    for (const [device, user] of owners) await lab.join(device, user);
    await waitFor(
      'every device running',
      async () =>
        (await Promise.all([A, W, R, C, E].map((d) => d.status()))).every(
          (s) => s.backendState === 'running',
        ),
      30_000,
    );
    W.ns.spawn('node', [
      '-e',
      `require('node:http').createServer((q, r) => r.end('sloth\\n')).listen(80, '${await ip(W)}')`,
    ]);
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'getent hosts webcam gives its 100.x address, curl http://webcam/ fetches the sloth page; other names go to the previous resolver',
    async () => {
      const webcam = await ip(W);
      await waitFor(
        'webcam to resolve on the laptop',
        async () => (await getent(A.ns, 'webcam')) === webcam,
        10_000,
      );
      expect(await getent(A.ns, 'webcam.family.burrow.internal')).toBe(webcam);
      expect(await getent(A.ns, 'WebCam.Family.Burrow.Internal.')).toBe(webcam);
      const { stdout } = await A.ns.exec('curl', ['-s', '--max-time', '5', 'http://webcam/']);
      expect(stdout).toBe('sloth\n');
      // IPv6 and reverse names too.
      expect((await ask(A.ns, '100.100.100.100', 'webcam', 'AAAA')).answers).toEqual([
        `AAAA ${await ip6(W)}`,
      ]);
      const reverse = await A.ns.exec('getent', ['hosts', webcam]);
      expect(reverse.stdout).toContain('webcam.family.burrow.internal');
      // A name that is not Burrow's: the lab's DNS server answers it, as before.
      expect(await getent(A.ns, 'www.example')).toBe('198.51.100.80');
      expect(await getent(A.ns, 'nothing.burrow.internal')).toBeNull();
      // resolv.conf names burrowd's resolver, and the network's subdomain as search domain.
      const conf = readFileSync(resolvConf(A.ns), 'utf8');
      expect(conf).toMatch(/^nameserver 100\.100\.100\.100$/m);
      expect(conf).toMatch(/^search family\.burrow\.internal$/m);
    },
    T,
  );

  it(
    'the resolver’s addresses are never a source: tunnel traffic keeps the device’s own addresses',
    async () => {
      const route = await A.ns.exec('ip', ['-4', 'route', 'get', await ip(W)]);
      expect(route.stdout).toContain(`src ${await ip(A)}`);
      const route6 = await A.ns.exec('ip', ['-6', 'route', 'get', await ip6(W)]);
      expect(route6.stdout).toContain(`src ${await ip6(A)}`);
      const v4 = await A.ns.exec('ip', ['-4', 'addr', 'show', 'dev', 'burrow0']);
      expect(v4.stdout).toMatch(/inet 100\.100\.100\.100\/32 scope host/);
      const v6 = await A.ns.exec('ip', ['-6', 'addr', 'show', 'dev', 'burrow0']);
      expect(v6.stdout).toMatch(/inet6 \S+::53\/128 scope global nodad deprecated/);
      // Asked at its IPv6 address, over UDP and TCP.
      const resolver6 = (await dnsStatus(A)).addresses.find((a: string) => a.includes(':'));
      expect((await ask(A.ns, resolver6, 'webcam')).answers).toEqual([`A ${await ip(W)}`]);
      expect((await ask(A.ns, resolver6, 'webcam', 'A', 'tcp')).answers).toEqual([`A ${await ip(W)}`]);
    },
    T,
  );

  it(
    'a shared device resolves for the recipient, and for nobody else',
    async () => {
      expect(await getent(C.ns, 'webcam')).toBeNull();
      const created = await A.burrow('share', 'create', 'webcam', '--to', 'carol');
      expect(created.code).toBe(0);
      const list = JSON.parse((await C.burrow('share', 'list', '--json')).stdout);
      const pending = list.incoming.find((i: { device: string }) => i.device === 'webcam');
      await ok(C.burrow('share', 'accept', pending.id));
      const webcam = await ip(W);
      await waitFor(
        'the phone to resolve webcam',
        async () => (await getent(C.ns, 'webcam')) === webcam,
        10_000,
      );
      expect(await getent(C.ns, 'webcam.family.burrow.internal')).toBe(webcam);
      await waitFor(
        'the sloth page on the phone',
        async () =>
          (await C.ns.exec('curl', ['-s', '--max-time', '2', 'http://webcam/']).catch(() => null))?.stdout ===
          'sloth\n',
        10_000,
      );
      expect(await getent(E.ns, 'webcam')).toBeNull();
      expect(await getent(E.ns, 'webcam.family.burrow.internal')).toBeNull();
      // The phone's own name stays its own; the laptop is not shared with carol.
      expect(await getent(C.ns, 'laptop')).toBeNull();
    },
    T,
  );

  it(
    'Shields Up does not break DNS',
    async () => {
      await ok(A.burrow('set', '--shields-up=true'));
      try {
        expect(await getent(A.ns, 'webcam')).toBe(await ip(W));
        expect(await getent(A.ns, 'www.example')).toBe('198.51.100.80');
      } finally {
        await ok(A.burrow('set', '--shields-up=false'));
      }
    },
    T,
  );

  it(
    'after a rename, the new name resolves within 1 s and the old one stops',
    async () => {
      const webcam = await ip(W);
      await lab.admin('devices', 'rename', 'webcam', 'slothcam');
      const renamed = performance.now();
      await waitFor(
        'slothcam to resolve',
        async () => (await getent(A.ns, 'slothcam')) === webcam,
        5_000,
        20,
      );
      const took = performance.now() - renamed;
      expect(await getent(A.ns, 'webcam')).toBeNull();
      expect(await getent(A.ns, 'slothcam.family.burrow.internal')).toBe(webcam);
      expect(took).toBeLessThan(1000);
      await lab.admin('devices', 'rename', 'slothcam', 'webcam');
      await waitFor('webcam again', async () => (await getent(A.ns, 'webcam')) === webcam, 5_000);
    },
    T,
  );

  it(
    'a split-DNS route sends corp.example to the corp name server, behind a subnet router',
    async () => {
      // The corp LAN behind R, with its name server at 10.77.0.53.
      const corp = await Netns.create('lcorp');
      await link(R.ns, ['10.77.0.1/24'], corp, ['10.77.0.53/24']);
      await corp.exec('ip', ['route', 'add', 'default', 'via', '10.77.0.1']);
      corp.spawn('dnsmasq', [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        '--bind-interfaces',
        '--listen-address=10.77.0.53',
        '--pid-file=',
        '--user=root',
        '--host-record=intranet.corp.example,10.77.0.80',
      ]);
      await ok(R.burrow('set', '--advertise-routes=10.77.0.0/24'));
      await waitFor(
        'the route to be advertised',
        async () => (await lab.admin('devices', 'list', '--json')).includes('"10.77.0.0/24"'),
        5_000,
      );
      await lab.admin('routes', 'approve', 'router', '10.77.0.0/24');
      await ok(A.burrow('set', '--accept-routes=true'));
      // The lab's own DNS server does not know the name: only the route can answer it.
      expect(await getent(A.ns, 'intranet.corp.example')).toBeNull();
      await lab.admin('dns', 'route', 'add', 'corp.example', '10.77.0.53', '--network', 'family');
      await waitFor(
        'intranet.corp.example to resolve through the route',
        async () => (await getent(A.ns, 'intranet.corp.example')) === '10.77.0.80',
        10_000,
      );
      const status = await dnsStatus(A);
      expect(status.routes).toEqual([{ domain: 'corp.example', servers: ['10.77.0.53'] }]);
      expect(await getent(A.ns, 'www.example')).toBe('198.51.100.80');
    },
    T,
  );

  it(
    'not an open resolver: a LAN host that routes 100.100.100.100 to a device gets nothing',
    async () => {
      const lan = await lab.lanHost('nbr');
      await lan.ns.exec('ip', ['route', 'add', '100.100.100.100/32', 'via', A.lanIp]);
      const before = (await dnsStatus(A)).counters.notLocal;
      expect(await ask(lan.ns, '100.100.100.100', 'webcam')).toEqual({ timeout: true });
      expect(await ask(lan.ns, '100.100.100.100', 'www.example')).toEqual({ timeout: true });
      const tcp = await ask(lan.ns, '100.100.100.100', 'webcam', 'A', 'tcp');
      expect(tcp.answers).toBeUndefined();
      const after = (await dnsStatus(A)).counters.notLocal;
      expect(after - before).toBeGreaterThanOrEqual(3);
      // It listens on the tunnel addresses only: nothing on the LAN address.
      expect(await ask(lan.ns, A.lanIp, 'webcam')).toEqual({ timeout: true });
    },
    T,
  );

  it(
    'malformed and oversized queries are dropped and counted; a big answer sets TC over UDP and comes whole over TCP',
    async () => {
      expect(await ask(A.ns, '100.100.100.100', 'x', 'A', 'udp', '--raw', '0102')).toEqual({ timeout: true });
      expect(await ask(A.ns, '100.100.100.100', 'x', 'A', 'udp', '--raw', '00'.repeat(1500))).toEqual({
        timeout: true,
      });
      const refusals = (await dnsStatus(A)).refusals;
      expect(refusals).toEqual(
        expect.arrayContaining([
          { reason: 'too-short', count: 1 },
          { reason: 'oversize-query', count: 1 },
        ]),
      );
      const udp = await ask(A.ns, '100.100.100.100', 'big.example', 'A', 'udp', '--no-edns');
      expect(udp.tc).toBe(true);
      expect(udp.size).toBeLessThanOrEqual(512);
      const tcp = await ask(A.ns, '100.100.100.100', 'big.example', 'A', 'tcp');
      expect(tcp.tc).toBe(false);
      expect(tcp.answers).toHaveLength(BIG.length);
      // And glibc, which retries over TCP by itself, gets every address.
      expect((await getent(A.ns, 'big.example'))?.split(',')).toHaveLength(BIG.length);
    },
    T,
  );

  it(
    'burrow dns status and burrow dns query, for any local user',
    async () => {
      const status = await dnsStatus(A);
      expect(status).toMatchObject({
        acceptDns: true,
        running: true,
        baseDomain: 'burrow.internal',
        backend: 'file',
        upstreams: [INTERNET_IP],
        searchDomains: ['family.burrow.internal'],
      });
      expect(status.addresses[0]).toBe('100.100.100.100');
      const query = await A.burrow('dns', 'query', 'webcam');
      expect(query.code).toBe(0);
      expect(query.stdout).toContain(await ip(W));
      const forwarded = JSON.parse((await A.burrow('dns', 'query', 'www.example', 'A', '--json')).stdout);
      expect(forwarded.rcode).toBe('NOERROR');
      expect(forwarded.answers).toEqual([
        { name: 'www.example', type: 'A', ttl: expect.any(Number), data: '198.51.100.80' },
      ]);
      const ptr = JSON.parse((await A.burrow('dns', 'query', await ip(W), '--json')).stdout);
      expect(ptr.answers[0].data).toBe('webcam.family.burrow.internal.');
      expect((await A.burrow('dns', 'query', 'nothing.burrow.internal')).code).toBe(1);
      // Read-only: any local user may ask.
      chmodSync(lab.dir, 0o755);
      const asNobody = (...args: string[]) =>
        A.ns.exec('setpriv', [
          '--reuid',
          '65534',
          '--regid',
          '65534',
          '--clear-groups',
          BURROW,
          '--socket',
          A.socket,
          ...args,
        ]);
      expect((await asNobody('dns', 'query', 'webcam')).stdout).toContain(await ip(W));
      expect(JSON.parse((await asNobody('dns', 'status', '--json')).stdout).running).toBe(true);
    },
    T,
  );

  it(
    'stop, kill -9 and --accept-dns=false each put resolv.conf back exactly',
    async () => {
      const path = resolvConf(E.ns);
      const original = Buffer.from(`nameserver ${INTERNET_IP}\noptions timeout:1 attempts:1\n`);
      const ours = () => readFileSync(path).includes('nameserver 100.100.100.100');
      await waitFor('E to point its resolv.conf at burrowd', async () => ours(), 10_000);
      await E.stop('SIGTERM');
      expect(readFileSync(path)).toEqual(original);
      await E.start();
      await waitFor('E to point it there again', async () => ours(), 10_000);
      await E.stop('SIGKILL');
      expect(ours()).toBe(true); // what a crash leaves
      await E.start();
      await waitFor('E to point it there again after the crash', async () => ours(), 10_000);
      await ok(E.burrow('set', '--accept-dns=false'));
      expect(readFileSync(path)).toEqual(original);
      expect((await dnsStatus(E)).backend).toBeNull();
      await ok(E.burrow('set', '--accept-dns=true'));
      expect(ours()).toBe(true);
      await ok(E.burrow('down'));
      expect(readFileSync(path)).toEqual(original);
      expect(readFileSync(path)).toEqual(original);
    },
    T,
  );
});
