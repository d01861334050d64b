/**
 * The system's DNS settings for one interface: which name servers and search domains to use while
 * it is up, put back as they were when it goes down, also after a crash. Two backends:
 * - "resolved" (resolved.ts), where systemd-resolved runs and /etc/resolv.conf is its own: the
 *   settings are the link's, through resolvectl, and go with the link;
 * - "file" (resolv-conf-file.ts) everywhere else: /etc/resolv.conf is rewritten in place, after
 *   its bytes are saved to a backup in burrowd's state directory.
 * `burrowd --wg-config` uses it for wg-quick's `DNS =`; the mesh's resolver can use it for its
 * split DNS (matchDomains), which only systemd-resolved can do per link.
 */
import { execFile } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { ResolvConfFile, restoreStaleResolvConf } from './resolv-conf-file.js';
import { ResolvedDns } from './resolved.js';
import type { CommandRunner, DnsSettings, SystemDns } from './types.js';

export type { CommandRunner, DnsSettings, SystemDns } from './types.js';
export { DnsError } from './types.js';

export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });

export const RESOLV_CONF = '/etc/resolv.conf';
/** systemd-resolved's varlink socket: there whenever it runs (systemd 246 and later). */
export const RESOLVED_SOCKET = '/run/systemd/resolve/io.systemd.Resolve';

/** wg-quick's reading of `DNS =`: digits and dots, or anything with a colon, is a server; the rest search domains. */
export function wgQuickDns(entries: string[]): DnsSettings {
  const isServer = (entry: string) => /^[0-9.]+$/.test(entry) || entry.includes(':');
  return {
    nameservers: entries.filter(isServer),
    searchDomains: entries.filter((entry) => !isServer(entry)),
    matchDomains: [],
  };
}

export interface SystemDnsOptions {
  iface: string;
  /** burrowd's state directory: the file backend keeps its backups in its `dns` directory. */
  stateDir: string;
  log: (message: string) => void;
  resolvConf?: string;
  resolvedSocket?: string;
  run?: CommandRunner;
}

/** The backend for this system: systemd-resolved if it runs and owns resolv.conf, else the file. */
export async function openSystemDns(options: SystemDnsOptions): Promise<SystemDns> {
  const resolvConf = options.resolvConf ?? RESOLV_CONF;
  if (await resolvedManages(resolvConf, options.resolvedSocket ?? RESOLVED_SOCKET)) {
    return new ResolvedDns(options.iface, options.run ?? runCommand, options.log);
  }
  return new ResolvConfFile({
    path: resolvConf,
    backupDir: join(options.stateDir, 'dns'),
    iface: options.iface,
    log: options.log,
  });
}

/**
 * Whether systemd-resolved decides this system's DNS: its socket answers, and resolv.conf is one of
 * its files (or points at its stub at 127.0.0.53). Both, because inside `ip netns exec` with a
 * namespace's own resolv.conf, the host's resolved runs but is not what this namespace asks.
 */
export async function resolvedManages(resolvConf: string, socket: string): Promise<boolean> {
  const [file, running] = await Promise.all([resolvedFile(resolvConf), answers(socket)]);
  return file && running;
}

async function resolvedFile(path: string): Promise<boolean> {
  try {
    // The link's target, not its real path: what it points at may not exist yet (resolved writes it).
    const target = await readlink(path).catch(() => null);
    if (target !== null && resolve(dirname(path), target).startsWith('/run/systemd/resolve/')) return true;
    return /^nameserver\s+127\.0\.0\.53\s*$/m.test(await readFile(path, 'utf8'));
  } catch {
    return false;
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}

/** At start: undoes what a burrowd that was killed left in resolv.conf (resolved needs nothing: its settings went with the link). */
export function restoreStaleDns(log: (message: string) => void, resolvConf = RESOLV_CONF): Promise<void> {
  return restoreStaleResolvConf(resolvConf, log);
}
