/**
 * `ip link del burrow0` under a running mesh node: burrowd must notice (the TUN read fails with
 * EBADFD), remove everything it added (policy rules 5210-5270, table 52, the exit-node NAT table and
 * forwarding, the DNS it set, its LocalAPI socket) and exit 1 with a log line saying why, so that its service
 * manager (burrowd.service: Restart=always) starts it again; started again, it comes back up with a
 * new interface, as the user left it. Real burrow-server, two real burrowd in namespaces, the CLI.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, type Netns, waitFor } from '../support/netns.js';

const FORWARDING = ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'];

/** What is left in `ns` of burrowd's routing and NAT: rules 5200-5299, table 52, its nftables table. */
async function leftovers(ns: Netns): Promise<string[]> {
  const left: string[] = [];
  for (const family of ['-4', '-6']) {
    const rules = (await ns.exec('ip', [family, 'rule', 'show'])).stdout;
    left.push(...rules.split('\n').filter((line) => /^52[0-9]{2}:/.test(line)));
    const table = (await ns.exec('ip', [family, 'route', 'show', 'table', '52'])).stdout.trim();
    if (table !== '') left.push(`table 52 (${family}): ${table}`);
  }
  const tables = (await ns.exec('nft', ['list', 'tables'])).stdout;
  left.push(...tables.split('\n').filter((line) => line.includes('burrow_exit_')));
  return left;
}

describe.skipIf(!isRoot())('ip link del under a mesh node', () => {
  let lab: MeshLab;
  let A: LabDevice;
  let B: LabDevice;

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'home');
    await lab.startServer();
    A = await lab.device('a');
    B = await lab.device('b');
    for (const d of [A, B]) await lab.join(d, 'alice');
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it('removes its rules, routes, NAT and socket, exits 1 saying why, and comes back when started again', async () => {
    const bIp = async () => (await B.status()).self!.ips.find((ip) => !ip.includes(':'))!;
    const pings = (from: LabDevice, to: string) =>
      from.ns.exec('ping', ['-c', '1', '-W', '1', to]).then(
        () => true,
        () => false,
      );
    await waitFor('A to reach B through the tunnel', async () => pings(A, await bIp()), 30_000);
    // A serves as an exit node too: an nftables table and forwarding turned on, both to be undone.
    const before = await Promise.all(
      FORWARDING.map(async (key) => (await A.ns.exec('sysctl', ['-n', key])).stdout),
    );
    expect((await A.burrow('set', '--advertise-exit-node=true')).code).toBe(0);
    await waitFor(
      'A’s NAT table',
      async () => (await leftovers(A.ns)).some((l) => l.includes('burrow_exit_')),
      10_000,
    );
    expect(await leftovers(A.ns)).toEqual(expect.arrayContaining([expect.stringMatching(/^5270:/)]));

    // MagicDNS has pointed A's resolv.conf (the lab gives each device its own) at its resolver.
    const resolvConf = `/etc/netns/${A.ns.name}/resolv.conf`;
    expect(readFileSync(resolvConf, 'utf8')).toContain('nameserver 100.100.100.100');

    // Traffic through the tunnel while the link goes.
    const flood = A.ns.spawn('ping', ['-i', '0.01', '-s', '1000', await bIp()]);
    const exited = new Promise<number | null>((resolve) => A.process.once('exit', (code) => resolve(code)));
    await A.ns.exec('ip', ['link', 'del', 'burrow0']);
    const code = await Promise.race([
      exited,
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000)),
    ]);
    flood.kill();
    expect(code, A.output()).toBe(1);
    expect(A.output()).toMatch(/burrow0 was deleted: tearing down/);
    expect(A.output()).toMatch(/exiting with status 1 to be started again/);
    expect(A.output()).not.toMatch(/EBADFD|Error:|\n\s+at /);
    expect(await leftovers(A.ns)).toEqual([]);
    expect(existsSync(A.socket)).toBe(false);
    expect(readFileSync(resolvConf, 'utf8')).toBe('options timeout:1 attempts:1\n');
    const after = await Promise.all(
      FORWARDING.map(async (key) => (await A.ns.exec('sysctl', ['-n', key])).stdout),
    );
    expect(after).toEqual(before);

    // As its service manager would: started again, it is up as the user left it, on a new interface.
    await A.start();
    await waitFor('A to reach B again', async () => pings(A, await bIp()), 30_000);
    expect((await A.status()).backendState).toBe('running');
  }, 120_000);
});
