/**
 * DNS by /etc/resolv.conf, where no systemd-resolved decides it. The file is rewritten in place
 * (truncated and written, never replaced by a rename: inside `ip netns exec` it is a bind mount of
 * /etc/netns/NS/resolv.conf, which a rename cannot replace), after its bytes are saved in a backup
 * file under burrowd's state directory. The written file starts with a marker line naming that
 * backup and the burrowd that wrote it, so that a later start finds what a burrowd killed with
 * `kill -9` (or a crash of the machine) left, and puts the backup back (restoreStaleResolvConf).
 * `restore` gives back the exact earlier bytes.
 */
import { randomBytes } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { lstat, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { basename, isAbsolute } from 'node:path';
import { DnsError, type DnsSettings, type SystemDns } from './types.js';

export interface ResolvConfFileOptions {
  /** The file, /etc/resolv.conf. */
  path: string;
  /** Where backups go: burrowd's state directory's `dns`. */
  backupDir: string;
  iface: string;
  log: (message: string) => void;
}

const MARKER =
  /^# burrowd pid (\d+) boot ([0-9a-f-]+) \(([^)\n]*)\): the previous resolv\.conf is saved in (\S+) and comes back when burrowd stops\n/;
const BACKUP_NAME = /^resolv\.conf\.[A-Za-z0-9_.=+-]{1,15}\.[0-9a-f]{8}$/;

interface Marker {
  pid: number;
  boot: string;
  iface: string;
  backup: string;
}

function markerOf(text: Buffer): Marker | null {
  const match = MARKER.exec(text.subarray(0, 512).toString('latin1'));
  if (match === null) return null;
  return { pid: Number(match[1]), boot: match[2]!, iface: match[3]!, backup: match[4]! };
}

/** This boot of the machine: a pid in a marker from an earlier boot names nobody. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '0';
  }
}

/** Whether the burrowd that wrote `marker` still runs. */
function stillRunning(marker: Marker): boolean {
  if (marker.boot !== bootId()) return false;
  try {
    process.kill(marker.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Truncates `path` and writes `data` into the same inode, then syncs it. */
async function writeInPlace(path: string, data: Buffer): Promise<void> {
  const handle = await open(
    path,
    constants.O_WRONLY | constants.O_TRUNC | constants.O_CREAT | constants.O_NOCTTY,
    0o644,
  );
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class ResolvConfFile implements SystemDns {
  readonly backend = 'file';
  private backup: string | undefined;
  private written: Buffer | undefined;

  constructor(private readonly options: ResolvConfFileOptions) {}

  async set(settings: DnsSettings): Promise<void> {
    const { path, backupDir, iface } = this.options;
    if (settings.matchDomains.length > 0) {
      throw new DnsError(
        `${path} cannot send only some names to a name server (split DNS needs systemd-resolved)`,
      );
    }
    let previous: Buffer;
    try {
      previous = await readFile(path);
    } catch (error) {
      throw new DnsError(`cannot set DNS in ${path}: ${(error as Error).message}`);
    }
    const owner = markerOf(previous);
    if (owner !== null) {
      throw new DnsError(
        `${path} holds the DNS of another burrowd (pid ${owner.pid}, ${owner.iface}): one interface at a time may set it`,
      );
    }
    await mkdir(backupDir, { recursive: true, mode: 0o700 });
    const backup = `${backupDir}/resolv.conf.${iface}.${randomBytes(4).toString('hex')}`;
    const handle = await open(backup, 'wx', 0o600);
    try {
      await handle.writeFile(previous);
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.backup = backup;
    const lines = [
      `# burrowd pid ${process.pid} boot ${bootId()} (${iface}): the previous resolv.conf is saved in ${backup} and comes back when burrowd stops`,
      ...settings.nameservers.map((server) => `nameserver ${server}`),
      ...(settings.searchDomains.length > 0 ? [`search ${settings.searchDomains.join(' ')}`] : []),
    ];
    const text = Buffer.from(`${lines.join('\n')}\n`);
    this.written = text;
    await writeInPlace(path, text);
  }

  async restore(): Promise<void> {
    const { path, log } = this.options;
    const backup = this.backup;
    if (backup === undefined) return;
    this.backup = undefined;
    const current = await readFile(path).catch(() => null);
    // Someone who rewrote the file since (a DHCP client, the user) has the last word.
    if (current !== null && this.written !== undefined && current.equals(this.written)) {
      await writeInPlace(path, await readFile(backup));
    } else {
      log(`${path} was changed while burrowd's DNS was set: left as it is`);
    }
    await unlink(backup);
  }
}

/**
 * At start: if resolv.conf still holds what a burrowd that is gone wrote, puts its backup back.
 * The backup it names is used only if it looks like one of burrowd's: a file of burrowd's name
 * pattern, owned by this user and writable by no one else.
 */
export async function restoreStaleResolvConf(path: string, log: (message: string) => void): Promise<void> {
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch {
    return;
  }
  const marker = markerOf(text);
  if (marker === null || stillRunning(marker)) return;
  const { backup } = marker;
  const refuse = (why: string) =>
    new DnsError(
      `${path} still holds the DNS set by burrowd pid ${marker.pid} (${marker.iface}), which is gone, ` +
        `but its backup ${backup} ${why}: put back your resolv.conf by hand`,
    );
  if (!isAbsolute(backup) || !BACKUP_NAME.test(basename(backup))) throw refuse('is not a burrowd backup');
  const stat = await lstat(backup).catch(() => null);
  if (stat === null) throw refuse('is missing');
  if (!stat.isFile() || stat.uid !== process.geteuid?.() || (stat.mode & 0o022) !== 0) {
    throw refuse('is not a file only burrowd’s user can change');
  }
  await writeInPlace(path, await readFile(backup));
  await unlink(backup);
  log(`${path}: put back what was there before burrowd pid ${marker.pid} (${marker.iface}) set its DNS`);
}
