import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ResolvConfFile, restoreStaleResolvConf } from './resolv-conf-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Bytes no text round trip would keep: no final newline, a CR, a byte that is not UTF-8. */
const ORIGINAL = Buffer.from("# the host's\r\nnameserver 192.0.2.53\noptions edns0\n\xff", 'latin1');

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'resolv-conf-test-'));
  dirs.push(dir);
  const path = join(dir, 'resolv.conf');
  writeFileSync(path, ORIGINAL);
  chmodSync(path, 0o644);
  const said: string[] = [];
  const backupDir = join(dir, 'state', 'dns');
  const file = (iface = 'wg0') => new ResolvConfFile({ path, backupDir, iface, log: (m) => said.push(m) });
  return { dir, path, backupDir, said, file };
}

const SETTINGS = {
  nameservers: ['10.0.0.53', 'fd00::53'],
  searchDomains: ['corp.example', 'lab'],
  matchDomains: [],
};

describe('resolv.conf as the DNS backend', () => {
  it('writes the servers and search domains in place after a backup, and restore gives back the exact bytes', async () => {
    const { path, backupDir, file } = setup();
    const inode = statSync(path).ino;
    const dns = file();
    await dns.set(SETTINGS);
    const text = readFileSync(path, 'utf8').split('\n');
    expect(text[0]).toMatch(/^# burrowd pid \d+ boot \S+ \(wg0\): the previous resolv\.conf is saved in \S+/);
    expect(text.slice(1)).toEqual([
      'nameserver 10.0.0.53',
      'nameserver fd00::53',
      'search corp.example lab',
      '',
    ]);
    // In place: the same inode (a bind mount of /etc/netns/NS/resolv.conf cannot be renamed over).
    expect(statSync(path).ino).toBe(inode);
    const [backup] = readdirSync(backupDir);
    expect(readFileSync(join(backupDir, backup!))).toEqual(ORIGINAL);
    expect(statSync(join(backupDir, backup!)).mode & 0o777).toBe(0o600);

    await dns.restore();
    expect(readFileSync(path)).toEqual(ORIGINAL);
    expect(statSync(path).ino).toBe(inode);
    expect(readdirSync(backupDir)).toEqual([]);
    await dns.restore(); // a second time changes nothing
    expect(readFileSync(path)).toEqual(ORIGINAL);
  });

  it('after a kill -9, the next start puts the exact bytes back, and a new set and restore work as before', async () => {
    const { path, backupDir, said, file } = setup();
    // A burrowd that is gone: its pid names no process.
    const dead = spawnSync('true').pid;
    const crashed = file();
    await crashed.set(SETTINGS);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^# burrowd pid \d+/, `# burrowd pid ${dead}`));

    await restoreStaleResolvConf(path, (m) => said.push(m));
    expect(readFileSync(path)).toEqual(ORIGINAL);
    expect(readdirSync(backupDir)).toEqual([]);
    expect(said).toEqual([
      expect.stringContaining(`put back what was there before burrowd pid ${dead} (wg0)`),
    ]);

    const next = file();
    await next.set(SETTINGS);
    await next.restore();
    expect(readFileSync(path)).toEqual(ORIGINAL);
  });

  it('leaves alone what a running burrowd wrote, and refuses a second interface', async () => {
    const { path, file } = setup();
    const first = file('wg0');
    await first.set(SETTINGS);
    const written = readFileSync(path);
    await restoreStaleResolvConf(path, () => {});
    expect(readFileSync(path)).toEqual(written);
    await expect(file('wg1').set(SETTINGS)).rejects.toThrow(
      /holds the DNS of another burrowd \(pid \d+, wg0\): one interface at a time may set it/,
    );
    await first.restore();
    expect(readFileSync(path)).toEqual(ORIGINAL);
  });

  it('leaves the file as it is if someone rewrote it meanwhile', async () => {
    const { path, said, file } = setup();
    const dns = file();
    await dns.set(SETTINGS);
    writeFileSync(path, 'nameserver 198.51.100.1\n');
    await dns.restore();
    expect(readFileSync(path, 'utf8')).toBe('nameserver 198.51.100.1\n');
    expect(said).toEqual([expect.stringContaining("was changed while burrowd's DNS was set")]);
  });

  it('refuses to put back a backup that is missing or not burrowd’s, saying so', async () => {
    const { dir, path } = setup();
    const dead = spawnSync('true').pid;
    const marker = (backup: string) =>
      `# burrowd pid ${dead} boot 0 (wg0): the previous resolv.conf is saved in ${backup} and comes back when burrowd stops\nnameserver 10.0.0.53\n`;
    writeFileSync(path, marker(join(dir, 'state', 'dns', 'resolv.conf.wg0.0123abcd')));
    await expect(restoreStaleResolvConf(path, () => {})).rejects.toThrow(
      /is missing: put back your resolv.conf by hand/,
    );
    writeFileSync(path, marker('/etc/shadow'));
    await expect(restoreStaleResolvConf(path, () => {})).rejects.toThrow(
      /\/etc\/shadow is not a burrowd backup/,
    );
    const writable = join(dir, 'resolv.conf.wg0.0123abcd');
    writeFileSync(writable, 'nameserver 203.0.113.66\n');
    chmodSync(writable, 0o666);
    writeFileSync(path, marker(writable));
    await expect(restoreStaleResolvConf(path, () => {})).rejects.toThrow(
      /not a file only burrowd’s user can change/,
    );
  });

  it('cannot do split DNS', async () => {
    const { path, file } = setup();
    await expect(file().set({ ...SETTINGS, matchDomains: ['corp.example'] })).rejects.toThrow(
      /split DNS needs systemd-resolved/,
    );
    expect(readFileSync(path)).toEqual(ORIGINAL);
  });
});
