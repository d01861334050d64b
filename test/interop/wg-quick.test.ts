/**
 * burrowd stands in for wireguard-go under Debian's wg-quick: with
 * WG_QUICK_USERSPACE_IMPLEMENTATION=bin/burrowd-wg, `wg-quick up` of a full-tunnel file
 * (AllowedIPs = 0.0.0.0/0) brings up a tunnel to wireguard-go (Debian's and the modern one), with
 * wg-quick's own routing: its fwmark on burrowd's UDP socket, its table and rules. `wg-quick down`
 * leaves nothing.
 *
 * The peer's endpoint is off-link (198.51.100.2, reached through main's default route via
 * 192.0.2.2), so that the encrypted packets get out only by wg-quick's fwmark: unmarked, they would
 * follow table 51820 into the tunnel itself. 192.0.2.2 is on-link, so wg-quick's
 * "suppress_prefixlength 0" rule keeps traffic to it outside the tunnel.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, link, Netns, run, uniqueName, waitFor } from '../support/netns.js';
import { PROGRAMS_DIR } from '../support/programs.js';
import { genKeyPair, REPO, startWireguardGo, wgDump } from '../support/wg-peers.js';

const LAUNCHER = join(PROGRAMS_DIR ?? join(REPO, 'bin'), 'burrowd-wg');
const dirs: string[] = [];
const nsWithDaemon: Netns[] = [];

/** The processes in `ns`: the daemon runs in its own session, outside any test's tracking. */
async function pidsIn(ns: Netns): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', ns.name]);
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

afterEach(async () => {
  // A test that failed half way may have left the daemon running: it would keep its namespace alive.
  for (const ns of nsWithDaemon.splice(0)) {
    for (const pid of await pidsIn(ns).catch(() => [])) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  await cleanupAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** Sum of the peer's transfer counters on `iface`: what went through the tunnel. */
async function tunnelBytes(ns: Netns, iface: string): Promise<number> {
  const { peers } = await wgDump(ns, iface);
  return peers.reduce((sum, p) => sum + p.rx + p.tx, 0);
}

async function routeGet(ns: Netns, args: string[]): Promise<string> {
  return (await ns.exec('ip', ['-4', 'route', 'get', ...args])).stdout;
}

describe.skipIf(!isRoot()).each([
  ["Debian's wireguard-go", 'debian'],
  ['the modern wireguard-go', 'modern'],
] as const)('wg-quick with burrowd as its userspace implementation, peer %s', (_, build) => {
  it('brings a full tunnel up and down: tunnel traffic through burrowd, the rest outside, nothing left', async () => {
    const nsA = await Netns.create('wqa');
    const nsB = await Netns.create('wqb');
    nsWithDaemon.push(nsA);
    const { aDev } = await link(nsA, ['192.0.2.1/24'], nsB, ['192.0.2.2/24']);
    await nsB.exec('ip', ['address', 'add', '198.51.100.2/32', 'dev', 'lo']);
    await nsA.exec('ip', ['route', 'add', 'default', 'via', '192.0.2.2']);
    const keys = { a: await genKeyPair(), b: await genKeyPair() };
    const peer = await startWireguardGo(
      nsB,
      {
        privateKey: keys.b.privateKey,
        listenPort: 51821,
        addresses: ['10.9.0.2/24'],
        peers: [{ publicKey: keys.a.publicKey, allowedIps: ['10.9.0.1/32'] }],
      },
      { build },
    );

    const iface = uniqueName('bwq');
    const dir = mkdtempSync(join(tmpdir(), 'wg-quick-test-'));
    dirs.push(dir);
    const file = join(dir, `${iface}.conf`);
    writeFileSync(
      file,
      [
        '[Interface]',
        `PrivateKey = ${keys.a.privateKey}`,
        'Address = 10.9.0.1/24',
        '',
        '[Peer]',
        `PublicKey = ${keys.b.publicKey}`,
        'Endpoint = 198.51.100.2:51821',
        'AllowedIPs = 0.0.0.0/0',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const env = ['env', `WG_QUICK_USERSPACE_IMPLEMENTATION=${LAUNCHER}`];
    const up = await nsA.exec(env[0]!, [...env.slice(1), 'wg-quick', 'up', file], { timeout: 60_000 });
    expect(up.stderr).toContain('Falling back to slow userspace implementation');
    // wg-quick's full-tunnel logic ran: its mark is on the interface, for burrowd's UDP socket.
    expect((await nsA.exec('wg', ['show', iface, 'fwmark'])).stdout.trim()).toBe('0xca6c');
    expect(await routeGet(nsA, ['203.0.113.9'])).toContain(`dev ${iface} table 51820`);

    // Tunnel traffic: answered by the peer, through burrowd (the counters grow).
    const before = await tunnelBytes(nsA, iface);
    const ping = await nsA.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', '10.9.0.2'], { timeout: 30_000 });
    expect(ping.stdout).toContain('3 received');
    const afterTunnel = await tunnelBytes(nsA, iface);
    expect(afterTunnel).toBeGreaterThan(before);
    expect((await wgDump(nsB, peer.iface)).peers[0]!.endpoint).toBe(
      `192.0.2.1:${(await wgDump(nsA, iface)).listenPort}`,
    );

    // Non-tunnel traffic: the on-link underlay host is reached outside the tunnel, which carries none of it.
    expect(await routeGet(nsA, ['192.0.2.2'])).toContain(`dev ${aDev}`);
    const direct = await nsA.exec('ping', ['-c', '5', '-i', '0.2', '-s', '1000', '192.0.2.2'], {
      timeout: 30_000,
    });
    expect(direct.stdout).toContain('5 received');
    expect(await tunnelBytes(nsA, iface)).toBe(afterTunnel);
    // burrowd's own routing stays off: no rule 52xx, no table 52 (wg-quick routes).
    expect((await nsA.exec('ip', ['-4', 'rule', 'show'])).stdout).not.toMatch(/^52\d\d:/m);
    await expect(nsA.exec('ip', ['-4', 'route', 'show', 'table', '52'])).rejects.toThrow(/does not exist/);

    const [daemon] = await pidsIn(nsA);
    expect(daemon).toBeDefined();
    await nsA.exec(env[0]!, [...env.slice(1), 'wg-quick', 'down', file], { timeout: 60_000 });
    await waitFor('burrowd to exit', async () => (await pidsIn(nsA)).length === 0, 10_000);
    await expect(nsA.exec('ip', ['link', 'show', iface])).rejects.toThrow(/does not exist/);
    expect(existsSync(`/var/run/wireguard/${iface}.sock`)).toBe(false);
    const rules = (await nsA.exec('ip', ['-4', 'rule', 'show'])).stdout;
    expect(rules).not.toContain('51820');
    expect(rules).not.toContain('suppress_prefixlength');
    expect((await nsA.exec('nft', ['list', 'tables'])).stdout).not.toContain(`wg-quick-${iface}`);
    // What the namespace had before wg-quick: the underlay still works.
    expect((await nsA.exec('ping', ['-c', '1', '-W', '5', '198.51.100.2'])).stdout).toContain('1 received');
  }, 120_000);
});

describe.skipIf(!isRoot())('burrowd-wg -f NAME, as wireguard-go -f NAME', () => {
  it('makes a bare interface that waits for wg, and exits 0 when it is deleted, leaving nothing', async () => {
    const ns = await Netns.create('wqa');
    const iface = uniqueName('bwq');
    const child = ns.spawn(LAUNCHER, ['-f', iface]);
    let output = '';
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(
      `the UAPI socket of ${iface}`,
      async () => existsSync(`/var/run/wireguard/${iface}.sock`),
      30_000,
    );
    // As wireguard-go: no key, a port of its own, no address, MTU 1420, and none of burrowd's routing.
    const dump = await wgDump(ns, iface);
    expect(dump.privateKey).toBe('(none)');
    expect(dump.listenPort).toBeGreaterThan(0);
    const link = (await ns.exec('ip', ['-o', 'address', 'show', 'dev', iface])).stdout;
    expect(link).not.toContain('inet');
    expect((await ns.exec('ip', ['link', 'show', iface])).stdout).toContain('mtu 1420');
    expect((await ns.exec('ip', ['-4', 'rule', 'show'])).stdout).not.toMatch(/^52\d\d:/m);
    // A new mark on the same port (it was "Address already in use"), then a new port keeping the mark.
    await ns.exec('wg', ['set', iface, 'fwmark', '0x1234']);
    expect((await ns.exec('wg', ['show', iface, 'fwmark'])).stdout.trim()).toBe('0x1234');
    await ns.exec('wg', ['set', iface, 'listen-port', '51830']);
    expect((await wgDump(ns, iface)).listenPort).toBe(51830);
    expect((await ns.exec('wg', ['show', iface, 'fwmark'])).stdout.trim()).toBe('0x1234');

    await ns.exec('ip', ['link', 'del', iface]);
    expect(await exited, output).toBe(0);
    expect(existsSync(`/var/run/wireguard/${iface}.sock`)).toBe(false);
  }, 60_000);
});
