/**
 * The choice of backend, and the resolvectl commands the "resolved" backend runs. This machine has
 * no systemd-resolved: its commands are checked through the runner, and the choice with a stand-in
 * for its socket.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ResolvedDns } from './resolved.js';
import { openSystemDns, resolvedManages, wgQuickDns } from './system-dns.js';

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function recorder(fail?: string) {
  const commands: string[] = [];
  const run = async (command: string, args: string[]) => {
    commands.push([command, ...args].join(' '));
    if (fail !== undefined && args[0] === fail)
      throw new Error(`${command} ${args.join(' ')}: Failed to set`);
    return '';
  };
  return { commands, run };
}

describe('wg-quick’s DNS =', () => {
  it('reads addresses as servers and the other words as search domains, as wg-quick does', () => {
    expect(wgQuickDns(['10.0.0.53', 'fd00::53', 'corp.example', 'lab'])).toEqual({
      nameservers: ['10.0.0.53', 'fd00::53'],
      searchDomains: ['corp.example', 'lab'],
      matchDomains: [],
    });
  });
});

describe('the systemd-resolved backend', () => {
  it('sets the link’s servers, search domains and ~. for every name, and reverts the link', async () => {
    const { commands, run } = recorder();
    const dns = new ResolvedDns('wg0', run, () => {});
    await dns.set(wgQuickDns(['10.0.0.53', 'fd00::53', 'corp.example']));
    await dns.restore();
    await dns.restore();
    expect(commands).toEqual([
      'resolvectl dns wg0 10.0.0.53 fd00::53',
      'resolvectl domain wg0 corp.example ~.',
      'resolvectl default-route wg0 true',
      'resolvectl revert wg0',
    ]);
  });

  it('split DNS: routing domains only, and not the default route', async () => {
    const { commands, run } = recorder();
    await new ResolvedDns('burrow0', run, () => {}).set({
      nameservers: ['100.100.100.100'],
      searchDomains: ['family.burrow.internal'],
      matchDomains: ['burrow.internal', '64.100.in-addr.arpa'],
    });
    expect(commands).toEqual([
      'resolvectl dns burrow0 100.100.100.100',
      'resolvectl domain burrow0 family.burrow.internal ~burrow.internal ~64.100.in-addr.arpa',
      'resolvectl default-route burrow0 false',
    ]);
  });

  it('a command that fails reverts the link and says which', async () => {
    const { commands, run } = recorder('domain');
    const dns = new ResolvedDns('wg0', run, () => {});
    await expect(dns.set(wgQuickDns(['10.0.0.53']))).rejects.toThrow(
      /systemd-resolved: resolvectl domain wg0 ~\.: Failed to set/,
    );
    expect(commands.at(-1)).toBe('resolvectl revert wg0');
  });
});

describe('which backend', () => {
  async function machine(resolvConf: string, running: boolean) {
    const dir = mkdtempSync(join(tmpdir(), 'system-dns-test-'));
    dirs.push(dir);
    const socket = join(dir, 'io.systemd.Resolve');
    if (running) {
      const server = createServer((c) => c.destroy());
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(socket, resolve));
    }
    const path = join(dir, 'resolv.conf');
    if (resolvConf.startsWith('->')) symlinkSync(resolvConf.slice(2), path);
    else writeFileSync(path, resolvConf);
    return { path, socket, dir };
  }

  it.each([
    [
      'resolved runs and resolv.conf is its stub',
      'nameserver 127.0.0.53\noptions edns0 trust-ad\n',
      true,
      true,
    ],
    [
      'resolved runs and resolv.conf links to its file',
      '->/run/systemd/resolve/stub-resolv.conf',
      true,
      true,
    ],
    ['resolved runs, but resolv.conf is another (a namespace’s own)', 'nameserver 192.0.2.53\n', true, false],
    ['resolv.conf is resolved’s stub, but resolved does not run', 'nameserver 127.0.0.53\n', false, false],
  ])('%s: %s', async (_, resolvConf, running, expected) => {
    const { path, socket, dir } = await machine(resolvConf, running);
    expect(await resolvedManages(path, socket)).toBe(expected);
    const dns = await openSystemDns({
      iface: 'wg0',
      stateDir: dir,
      log: () => {},
      resolvConf: path,
      resolvedSocket: socket,
    });
    expect(dns.backend).toBe(expected ? 'resolved' : 'file');
  });
});
