/**
 * The service installers: scripts/install-helper.sh and uninstall-helper.sh (burrowd), the deb's
 * maintainer scripts around them (packaging/deb/), scripts/install-server.sh and
 * uninstall-server.sh (burrow-server), the units (packaging/systemd/) and the sample server config.
 *
 * Everything runs for real, into a scratch root (DESTDIR) that looks like a system's, without
 * systemctl. The packaged programs are stand-ins (small shell scripts and dummy .node files): what
 * is tested is the scripts' file handling. An uninstall must leave the scratch root exactly as it
 * was before the install, which a listing of every path with its type, mode and content shows.
 * Runs as root or not; as root, the non-root cases run as nobody (setpriv).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const script = (path: string) => join(REPO, path);
const INSTALL = script('scripts/install-helper.sh');
const UNINSTALL = script('scripts/uninstall-helper.sh');
const INSTALL_SERVER = script('scripts/install-server.sh');
const UNINSTALL_SERVER = script('scripts/uninstall-server.sh');
const UNIT_TEMPLATE = script('packaging/systemd/burrowd.service');
const SERVER_UNIT = script('packaging/systemd/burrow-server.service');
const SAMPLE_CONFIG = script('packaging/server/config.hujson');

const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
const canBecomeNobody = ROOT && existsSync('/usr/bin/setpriv');
const systemdAnalyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix = 'burrow-install-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  return dir;
}

/** A scratch root with the directories every system has (which an uninstall must not remove). */
function systemRoot(): string {
  const root = tempDir('burrow-root-');
  for (const d of ['etc/systemd/system', 'usr/bin', 'usr/local/bin', 'usr/local/lib', 'var/lib', 'opt'])
    mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  return root;
}

function writeFile(path: string, text: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

const HELPER_FILES = ['burrowd', 'burrow', 'burrow_native.node', 'burrow_crypto.node'];

/** A packaged helper's directory (or server's): stand-in executables, and addons mode 0755 as the build makes them. */
function fakePackage(files: string[], dir = tempDir('burrow-pkg-')): string {
  for (const f of files) {
    writeFile(join(dir, f), f.endsWith('.node') ? `addon ${f}\n` : `#!/bin/sh\necho ${f} "$@"\n`, 0o755);
  }
  return dir;
}

/** Every path under `root`, with its type, mode and content (or link target): what "unchanged" means. */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const full = join(root, rel);
    const st = lstatSync(full);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(full)}`);
    else if (st.isDirectory()) {
      out.push(`${rel}/ ${mode}`);
      for (const name of readdirSync(full).sort()) walk(rel ? `${rel}/${name}` : name);
    } else {
      const sha = createHash('sha256').update(readFileSync(full)).digest('hex').slice(0, 16);
      out.push(`${rel} ${mode} ${sha}`);
    }
  };
  walk('');
  return out;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a script with only PATH and `env` in its environment (no SUDO_UID from whoever runs the
 * tests), as nobody when `asNobody`.
 */
function run(
  path: string,
  env: Record<string, string>,
  options: { args?: string[]; shell?: string; asNobody?: boolean } = {},
): Run {
  const shell = options.shell ?? '/bin/bash';
  const argv = [shell, path, ...(options.args ?? [])];
  const [command, ...args] = options.asNobody
    ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv]
    : argv;
  const result = spawnSync(command!, args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a script that must succeed; returns its stdout. */
function ok(path: string, env: Record<string, string>, options: Parameters<typeof run>[2] = {}): string {
  const result = run(path, env, options);
  expect(result.stderr).not.toMatch(/^(install|uninstall)-\w+: /m);
  expect(result, `${path} failed: ${result.stderr}`).toMatchObject({ status: 0 });
  return result.stdout;
}

const files = (root: string) => ({ DESTDIR: root, BURROW_INSTALL_NO_SYSTEMCTL: '1' });
const read = (root: string, path: string) => readFileSync(join(root, path), 'utf8');
const modeOf = (root: string, path: string) => lstatSync(join(root, path)).mode & 0o7777;
const linkOf = (root: string, path: string) => readlinkSync(join(root, path));
const unitOf = (root: string) => read(root, 'etc/systemd/system/burrowd.service');

/** The value of each `Key=` line of a unit (the last one wins, as in systemd), comments ignored. */
function directives(unit: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

/**
 * `systemd-analyze verify` on a unit, with its ExecStart= program pointed into the scratch root
 * (verify insists that it exists). Resolves with everything it printed: nothing when all is well.
 */
function verifyUnit(root: string, unitText: string, name: string): { status: number | null; output: string } {
  const text = unitText.replace(/^ExecStart=(\S+)/m, (_, exe: string) => `ExecStart=${root}${exe}`);
  const dir = tempDir('burrow-verify-');
  writeFileSync(join(dir, name), text);
  const result = spawnSync(systemdAnalyze!, ['verify', '--man=no', join(dir, name)], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/** The hardening both units share: what a reader of the units should find, whatever else changes. */
const COMMON_HARDENING = {
  NoNewPrivileges: 'yes',
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  ProtectKernelModules: 'yes',
  ProtectControlGroups: 'yes',
  RestrictNamespaces: 'yes',
  RestrictSUIDSGID: 'yes',
  LockPersonality: 'yes',
  SystemCallArchitectures: 'native',
  SystemCallFilter: '@system-service',
  SystemCallErrorNumber: 'EPERM',
  UMask: '0077',
};

describe('burrowd unit (packaging/systemd/burrowd.service)', () => {
  const template = readFileSync(UNIT_TEMPLATE, 'utf8');
  const unit = directives(template);

  it('is hardened: root with CAP_NET_ADMIN only, read-only system, only the TUN device', () => {
    expect(Object.fromEntries(unit)).toMatchObject({
      ...COMMON_HARDENING,
      Restart: 'always',
      CapabilityBoundingSet: 'CAP_NET_ADMIN',
      StateDirectory: 'burrow',
      StateDirectoryMode: '0700',
      RuntimeDirectory: 'burrow',
      RuntimeDirectoryMode: '0755',
      DevicePolicy: 'closed',
      DeviceAllow: '/dev/net/tun rw',
      RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    });
    expect(unit.has('User')).toBe(false);
  });

  it('leaves out, saying why, what would break burrowd', () => {
    // V8's JIT; burrowd writes the forwarding sysctls; PrivateDevices= has no /dev/net/tun.
    for (const key of ['MemoryDenyWriteExecute', 'ProtectKernelTunables', 'PrivateDevices', 'ProcSubset']) {
      expect(unit.has(key), key).toBe(false);
    }
    expect(template).toMatch(/^# Not MemoryDenyWriteExecute=: .*V8/m);
    expect(template).toMatch(
      /^# Not ProtectKernelTunables=: .*\n# net\.ipv4\.ip_forward and net\.ipv6\.conf\.all\.forwarding/m,
    );
  });

  it('has exactly the placeholders install-helper.sh fills in', () => {
    const body = template
      .split('\n')
      .filter((l) => !l.startsWith('#@'))
      .join('\n');
    expect(body.match(/\{\{\w+\}\}/g)).toEqual(['{{burrowd}}', '{{operator}}']);
    expect(unit.get('ExecStart')).toBe('{{burrowd}} --socket /run/burrow/burrowd.sock{{operator}}');
  });
});

describe('install-helper.sh and uninstall-helper.sh', () => {
  it('copies a packaged helper, links the CLI, writes the unit; the uninstall leaves nothing behind', () => {
    const root = systemRoot();
    const pkg = fakePackage(HELPER_FILES);
    const before = listing(root);

    const out = ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg, SUDO_UID: '1000' });
    expect(out.trim().split('\n').at(-1)).toBe(
      'burrowd is installed (not started: BURROW_INSTALL_NO_SYSTEMCTL=1)',
    );
    const lib = 'usr/local/lib/burrow';
    expect(readdirSync(join(root, lib)).sort()).toEqual([
      'burrow',
      'burrow_crypto.node',
      'burrow_native.node',
      'burrowd',
      'uninstall-helper.sh',
    ]);
    for (const f of HELPER_FILES) expect(read(root, `${lib}/${f}`)).toBe(readFileSync(join(pkg, f), 'utf8'));
    expect(read(root, `${lib}/uninstall-helper.sh`)).toBe(readFileSync(UNINSTALL, 'utf8'));
    expect(modeOf(root, `${lib}/burrowd`)).toBe(0o755);
    expect(modeOf(root, `${lib}/burrow`)).toBe(0o755);
    expect(modeOf(root, `${lib}/uninstall-helper.sh`)).toBe(0o755);
    expect(modeOf(root, `${lib}/burrow_native.node`)).toBe(0o644);
    expect(modeOf(root, `${lib}/burrow_crypto.node`)).toBe(0o644);
    expect(linkOf(root, 'usr/local/bin/burrow')).toBe('/usr/local/lib/burrow/burrow');
    expect(modeOf(root, 'etc/systemd/system/burrowd.service')).toBe(0o644);
    // A packaged install has no drop-in.
    expect(existsSync(join(root, 'etc/systemd/system/burrowd.service.d'))).toBe(false);

    const unit = unitOf(root);
    expect(unit).toContain(
      '\nExecStart=/usr/local/lib/burrow/burrowd --socket /run/burrow/burrowd.sock --operator 1000\n',
    );
    expect(unit).not.toMatch(/\{\{|^#@/m);
    // The template, filled in: every directive and comment of it is there.
    const expected = readFileSync(UNIT_TEMPLATE, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#@'))
      .join('\n')
      .replace('{{burrowd}}', '/usr/local/lib/burrow/burrowd')
      .replace('{{operator}}', ' --operator 1000');
    expect(unit).toBe(expected);

    const removed = ok(UNINSTALL, files(root));
    expect(removed).toContain('removed /etc/systemd/system/burrowd.service');
    expect(removed.trim().split('\n').at(-1)).toBe('burrowd is uninstalled');
    expect(listing(root)).toEqual(before);
  });

  it('is idempotent, and an update drops what the new package no longer has', () => {
    const root = systemRoot();
    const pkg = fakePackage(HELPER_FILES);
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg });
    const once = listing(root);
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg });
    expect(listing(root)).toEqual(once);

    // A new version: another burrowd, one addon fewer, no CLI.
    const next = fakePackage(['burrowd', 'burrow_native.node']);
    writeFile(join(next, 'burrowd'), '#!/bin/sh\necho burrowd 2\n', 0o755);
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: next });
    expect(readdirSync(join(root, 'usr/local/lib/burrow')).sort()).toEqual([
      'burrow_native.node',
      'burrowd',
      'uninstall-helper.sh',
    ]);
    expect(read(root, 'usr/local/lib/burrow/burrowd')).toBe('#!/bin/sh\necho burrowd 2\n');
    expect(existsSync(join(root, 'usr/local/bin/burrow'))).toBe(false);
    expect(lstatSync(join(root, 'usr/local/bin')).isDirectory()).toBe(true);
  });

  it('uninstalls idempotently, keeping the state unless BURROW_PURGE=1', () => {
    const root = systemRoot();
    const before = listing(root);
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: fakePackage(HELPER_FILES) });
    // What burrowd would have made while running.
    writeFile(join(root, 'var/lib/burrow/keys.json'), '{}', 0o600);

    expect(ok(UNINSTALL, files(root))).toContain(
      "kept /var/lib/burrow (this device's keys and settings; BURROW_PURGE=1 removes it)",
    );
    expect(read(root, 'var/lib/burrow/keys.json')).toBe('{}');
    const afterOnce = listing(root);
    ok(UNINSTALL, files(root));
    expect(listing(root)).toEqual(afterOnce);

    expect(ok(UNINSTALL, { ...files(root), BURROW_PURGE: '1' })).toContain('removed /var/lib/burrow');
    expect(listing(root)).toEqual(before);
  });

  it('takes the operator from pkexec or sudo, and keeps it when root reinstalls', () => {
    const root = systemRoot();
    const pkg = fakePackage(HELPER_FILES);
    const execStart = () => directives(unitOf(root)).get('ExecStart');
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg, SUDO_UID: '0' });
    expect(execStart()).toBe('/usr/local/lib/burrow/burrowd --socket /run/burrow/burrowd.sock');
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg, PKEXEC_UID: '1001', SUDO_UID: '1000' });
    expect(execStart()).toMatch(/ --operator 1001$/);
    // An upgrade run by root (or apt without sudo) keeps the operator the unit had.
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg });
    expect(execStart()).toMatch(/ --operator 1001$/);
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg, SUDO_UID: 'x; reboot' });
    expect(execStart()).toMatch(/ --operator 1001$/);
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg, SUDO_UID: '1002' });
    expect(execStart()).toMatch(/ --operator 1002$/);
  });

  it('copies the CLI and the addons beside BURROW_HELPER_BINARY too', () => {
    const root = systemRoot();
    const pkg = fakePackage(HELPER_FILES);
    ok(INSTALL, { ...files(root), BURROW_HELPER_BINARY: join(pkg, 'burrowd') });
    expect(readdirSync(join(root, 'usr/local/lib/burrow')).sort()).toEqual([
      'burrow',
      'burrow_crypto.node',
      'burrow_native.node',
      'burrowd',
      'uninstall-helper.sh',
    ]);
  });

  it('from a checkout: launchers, and a drop-in that lets the hardened unit reach the checkout', () => {
    const root = systemRoot();
    const before = listing(root);
    ok(INSTALL, files(root));
    expect(read(root, 'usr/local/lib/burrow/burrow')).toBe(
      '#!/bin/bash\n' +
        '# Written by scripts/install-helper.sh: runs the burrow CLI from a development checkout.\n' +
        `exec ${REPO}/bin/burrow "$@"\n`,
    );
    expect(linkOf(root, 'usr/local/bin/burrow')).toBe('/usr/local/lib/burrow/burrow');
    const dropin = read(root, 'etc/systemd/system/burrowd.service.d/checkout.conf');
    expect(dropin).toContain(`\n[Service]\nProtectHome=read-only\nReadWritePaths="${REPO}"\n`);
    expect(modeOf(root, 'etc/systemd/system/burrowd.service.d/checkout.conf')).toBe(0o644);

    // A packaged install replacing it takes the drop-in away.
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: fakePackage(HELPER_FILES) });
    expect(existsSync(join(root, 'etc/systemd/system/burrowd.service.d'))).toBe(false);
    ok(INSTALL, files(root));
    ok(UNINSTALL, files(root));
    expect(listing(root)).toEqual(before);
  });

  it('in place (the deb): runs burrowd from the package, links /usr/bin/burrow, replaces a copy', () => {
    const root = systemRoot();
    const before = listing(root);
    const helper = '/opt/Burrow/resources/helper';
    fakePackage(HELPER_FILES, join(root, helper));
    const withPackage = listing(root);
    // An earlier install by the app, which the package takes over.
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: fakePackage(HELPER_FILES) });

    const inPlace = { ...files(root), BURROW_HELPER_DIR: helper, BURROW_HELPER_IN_PLACE: '1' };
    expect(ok(INSTALL, inPlace)).toContain('removed the earlier install in /usr/local/lib/burrow');
    expect(directives(unitOf(root)).get('ExecStart')).toBe(
      `${helper}/burrowd --socket /run/burrow/burrowd.sock`,
    );
    expect(linkOf(root, 'usr/bin/burrow')).toBe(`${helper}/burrow`);
    // Nothing else is added: the unit and the link (and nothing in /usr/local).
    const installed = listing(root);
    expect(installed.filter((l) => !withPackage.includes(l))).toEqual([
      expect.stringMatching(/^etc\/systemd\/system\/burrowd\.service 644 [0-9a-f]{16}$/),
      `usr/bin/burrow -> ${helper}/burrow`,
    ]);
    ok(INSTALL, inPlace);
    expect(listing(root)).toEqual(installed);

    ok(UNINSTALL, files(root));
    expect(listing(root)).toEqual(withPackage);
    rmSync(join(root, 'opt/Burrow'), { recursive: true });
    expect(listing(root)).toEqual(before);
  });

  it('leaves alone what it did not write', () => {
    const root = systemRoot();
    writeFile(join(root, 'usr/local/bin/burrow'), '#!/bin/sh\necho somebody else\n', 0o755);
    const installed = run(INSTALL, { ...files(root), BURROW_HELPER_DIR: fakePackage(HELPER_FILES) });
    expect(installed.status).toBe(0);
    expect(installed.stderr).toContain(
      'warning: /usr/local/bin/burrow exists and is not a symlink: left alone',
    );
    writeFile(join(root, 'usr/local/lib/burrow/notes.txt'), 'mine\n', 0o644);
    const before = listing(root);

    const removed = run(UNINSTALL, files(root));
    expect(removed.status).toBe(0);
    expect(removed.stderr).toContain(
      '/usr/local/lib/burrow holds files the installer did not write: left alone',
    );
    expect(read(root, 'usr/local/bin/burrow')).toBe('#!/bin/sh\necho somebody else\n');
    expect(read(root, 'usr/local/lib/burrow/notes.txt')).toBe('mine\n');
    expect(readdirSync(join(root, 'usr/local/lib/burrow'))).toEqual(['notes.txt']);
    expect(listing(root).length).toBeLessThan(before.length);

    // A burrowd.service of the admin's own.
    writeFile(join(root, 'etc/systemd/system/burrowd.service'), '[Service]\nExecStart=/bin/true\n', 0o644);
    const foreign = run(UNINSTALL, files(root));
    expect(foreign.stderr).toContain(
      '/etc/systemd/system/burrowd.service was not written by install-helper.sh',
    );
    expect(read(root, 'etc/systemd/system/burrowd.service')).toBe('[Service]\nExecStart=/bin/true\n');
  });

  it.each([
    [
      'a relative BURROW_HELPER_DIR',
      { BURROW_HELPER_DIR: 'dist/package/helper' },
      'BURROW_HELPER_DIR=dist/package/helper is not an absolute path',
    ],
    [
      'a BURROW_HELPER_DIR that is not there',
      { BURROW_HELPER_DIR: '/nonexistent' },
      'BURROW_HELPER_DIR=/nonexistent is not a directory',
    ],
    [
      'no burrowd in BURROW_HELPER_DIR',
      { BURROW_HELPER_DIR: 'PKG-WITHOUT-BURROWD' },
      'BURROW_HELPER_DIR=PKG-WITHOUT-BURROWD has no executable burrowd',
    ],
    [
      'a missing BURROW_HELPER_BINARY',
      { BURROW_HELPER_BINARY: '/nonexistent/burrowd' },
      'BURROW_HELPER_BINARY=/nonexistent/burrowd is not an executable file',
    ],
    [
      'both',
      { BURROW_HELPER_DIR: 'PKG', BURROW_HELPER_BINARY: 'PKG/burrowd' },
      'give BURROW_HELPER_DIR or BURROW_HELPER_BINARY, not both',
    ],
    [
      'in place without a directory',
      { BURROW_HELPER_IN_PLACE: '1' },
      'BURROW_HELPER_IN_PLACE=1 needs BURROW_HELPER_DIR',
    ],
    [
      'in place from a path a unit cannot hold',
      { BURROW_HELPER_DIR: '/opt/My Burrow', BURROW_HELPER_IN_PLACE: '1' },
      'BURROW_HELPER_DIR=/opt/My Burrow: only letters, digits and _.+/- can run in place',
    ],
    [
      'a DESTDIR with systemctl',
      { BURROW_INSTALL_NO_SYSTEMCTL: '' },
      'DESTDIR is set: not starting a service from outside /',
    ],
  ])('refuses %s with a clear message, writing nothing', (_, env, message) => {
    const root = systemRoot();
    const pkg = fakePackage(HELPER_FILES);
    const without = fakePackage(['burrow', 'burrow_native.node']);
    const before = listing(root);
    const resolve = (v: string) => v.replace('PKG-WITHOUT-BURROWD', without).replace('PKG', pkg);
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, resolve(v)]));
    const result = run(INSTALL, { ...files(root), ...resolved });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`install-helper: ${resolve(message)}\n`);
    expect(result.stdout).toBe('');
    expect(listing(root)).toEqual(before);
  });

  it.skipIf(!canBecomeNobody)(
    'works without root into a DESTDIR (run as nobody), and refuses / without root',
    () => {
      const root = systemRoot();
      chownSync(root, NOBODY, NOBODY);
      for (const d of ['etc/systemd/system', 'usr/bin', 'usr/local/bin', 'usr/local/lib', 'var/lib', 'opt'])
        chownSync(join(root, d), NOBODY, NOBODY);
      const pkg = fakePackage(HELPER_FILES);
      const before = listing(root);
      ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg, SUDO_UID: '1000' }, { asNobody: true });
      expect(lstatSync(join(root, 'usr/local/lib/burrow/burrowd')).uid).toBe(NOBODY);
      expect(directives(unitOf(root)).get('ExecStart')).toMatch(/ --operator 1000$/);
      ok(UNINSTALL, files(root), { asNobody: true });
      expect(listing(root)).toEqual(before);

      for (const s of [INSTALL, UNINSTALL]) {
        const refused = run(s, { BURROW_INSTALL_NO_SYSTEMCTL: '1' }, { asNobody: true });
        expect(refused.status).toBe(1);
        expect(refused.stderr).toMatch(/^(install|uninstall)-helper: must run as root$/m);
      }
    },
  );

  it.skipIf(ROOT)('refuses / without root', () => {
    const refused = run(INSTALL, { BURROW_INSTALL_NO_SYSTEMCTL: '1' });
    expect(refused.stderr).toContain('install-helper: must run as root');
  });

  it.skipIf(!systemdAnalyze)('installs a unit that systemd-analyze verify accepts without a word', () => {
    const root = systemRoot();
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: fakePackage(HELPER_FILES), SUDO_UID: '1000' });
    expect(verifyUnit(root, unitOf(root), 'burrowd.service')).toEqual({ status: 0, output: '' });
  });
});

/**
 * The deb's scripts as electron-builder writes them into the package: it replaces each
 * ${name} made of letters, and fails the build on one it does not know (FpmTarget's writeConfigFile).
 */
const MACROS: Record<string, string> = {
  executable: 'burrow-desktop',
  sanitizedProductName: 'Burrow',
  productFilename: 'Burrow',
};

function expandLikeElectronBuilder(path: string): string {
  const text = readFileSync(path, 'utf8').replace(/\${([a-zA-Z]+)}/g, (_, name: string) => {
    if (!(name in MACROS)) throw new Error(`Macro ${name} is not defined (${path})`);
    return MACROS[name]!;
  });
  const out = join(tempDir('burrow-deb-'), path.split('/').at(-1)!);
  writeFile(out, text, 0o755);
  return out;
}

describe('the deb maintainer scripts (packaging/deb/)', () => {
  const afterInstall = expandLikeElectronBuilder(script('packaging/deb/after-install.sh'));
  const afterRemove = expandLikeElectronBuilder(script('packaging/deb/after-remove.sh'));
  const helper = '/opt/Burrow/resources/helper';

  /** The package as dpkg unpacks it into `root`, laid out as electron-builder.yml's extraResources. */
  function unpack(root: string): void {
    const app = join(root, 'opt/Burrow');
    fakePackage(['burrow-desktop', 'chrome-sandbox'], app);
    fakePackage(HELPER_FILES, join(app, 'resources/helper'));
    mkdirSync(join(app, 'resources/scripts'), { recursive: true });
    mkdirSync(join(app, 'resources/systemd'), { recursive: true });
    copyFileSync(INSTALL, join(app, 'resources/scripts/install-helper.sh'));
    copyFileSync(UNINSTALL, join(app, 'resources/scripts/uninstall-helper.sh'));
    copyFileSync(UNIT_TEMPLATE, join(app, 'resources/systemd/burrowd.service'));
  }
  const sh = (path: string, root: string, args: string[], env: Record<string, string> = {}) =>
    ok(path, { ...files(root), ...env }, { shell: '/bin/sh', args });

  it('electron-builder can fill them in: no macro it does not know', () => {
    for (const f of ['after-install.sh', 'after-remove.sh']) {
      const text = readFileSync(script(`packaging/deb/${f}`), 'utf8');
      expect([...text.matchAll(/\${([a-zA-Z]+)}/g)].map((m) => m[1])).toEqual([
        'sanitizedProductName',
        'executable',
      ]);
    }
  });

  it("do what electron-builder's own scripts do, which they replace", () => {
    const install = readFileSync(script('packaging/deb/after-install.sh'), 'utf8');
    for (const step of [
      'update-alternatives --install "/usr/bin/$executable" "$executable" "$app/$executable" 100',
      'chmod 4755 "$dest$app/chrome-sandbox"',
      'update-mime-database /usr/share/mime',
      'update-desktop-database /usr/share/applications',
      'apparmor_parser --replace --write-cache --skip-read-cache "$profile_target"',
    ])
      expect(install).toContain(step);
    const remove = readFileSync(script('packaging/deb/after-remove.sh'), 'utf8');
    expect(remove).toContain('update-alternatives --remove "$executable" "$app/$executable"');
    expect(remove).toContain('apparmor_parser --remove "/etc/apparmor.d/$executable"');
  });

  it("the desktop app's link in /usr/bin is not the CLI's", () => {
    const builder = readFileSync(script('electron-builder.yml'), 'utf8');
    const name = /^\s+executableName:\s*(\S+)/m.exec(builder)?.[1];
    expect(name ?? 'burrow (the default, from package.json)').not.toBe('burrow');
  });

  it('install burrowd in place on configure, keep the operator on upgrade, and remove it all again', () => {
    const root = systemRoot();
    const system = listing(root);
    unpack(root);
    sh(afterInstall, root, ['configure', ''], { SUDO_UID: '1000' });
    expect(directives(unitOf(root)).get('ExecStart')).toBe(
      `${helper}/burrowd --socket /run/burrow/burrowd.sock --operator 1000`,
    );
    expect(linkOf(root, 'usr/bin/burrow')).toBe(`${helper}/burrow`);
    expect(linkOf(root, 'usr/bin/burrow-desktop')).toBe('/opt/Burrow/burrow-desktop');
    expect(readdirSync(join(root, 'usr/local/bin'))).toEqual([]);
    expect(readdirSync(join(root, 'usr/local/lib'))).toEqual([]);
    const installed = listing(root);

    // An upgrade: the old postrm, then the new postinst (apt run as root: no SUDO_UID).
    sh(afterRemove, root, ['upgrade', '0.2.0']);
    sh(afterInstall, root, ['configure', '0.1.0']);
    expect(listing(root)).toEqual(installed);

    // burrowd ran; then dpkg deletes the package's files before it runs the postrm.
    writeFile(join(root, 'var/lib/burrow/keys.json'), '{}', 0o600);
    rmSync(join(root, 'opt/Burrow'), { recursive: true });
    sh(afterRemove, root, ['remove']);
    expect(read(root, 'var/lib/burrow/keys.json')).toBe('{}');
    rmSync(join(root, 'var/lib/burrow'), { recursive: true });
    expect(listing(root)).toEqual(system);
  });

  it('purge removes the state too', () => {
    const root = systemRoot();
    const system = listing(root);
    unpack(root);
    sh(afterInstall, root, ['configure', '']);
    writeFile(join(root, 'var/lib/burrow/keys.json'), '{}', 0o600);
    rmSync(join(root, 'opt/Burrow'), { recursive: true });
    sh(afterRemove, root, ['remove']);
    sh(afterRemove, root, ['purge']);
    expect(listing(root)).toEqual(system);
  });

  it("rpm's counts: 1 installs, 2 upgrades, %postun 1 (upgrade) keeps all, 0 removes", () => {
    const root = systemRoot();
    const system = listing(root);
    unpack(root);
    sh(afterInstall, root, ['1']);
    const installed = listing(root);
    expect(directives(unitOf(root)).get('ExecStart')).toBe(
      `${helper}/burrowd --socket /run/burrow/burrowd.sock`,
    );
    sh(afterInstall, root, ['2']);
    sh(afterRemove, root, ['1']);
    expect(listing(root)).toEqual(installed);
    rmSync(join(root, 'opt/Burrow'), { recursive: true });
    sh(afterRemove, root, ['0']);
    expect(listing(root)).toEqual(system);
  });

  it('fail, saying why, when the package lacks the helper', () => {
    const root = systemRoot();
    unpack(root);
    rmSync(join(root, `${helper}/burrowd`));
    const result = run(afterInstall, files(root), { shell: '/bin/sh', args: ['configure', ''] });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`install-helper: BURROW_HELPER_DIR=${helper} has no executable burrowd`);
    expect(existsSync(join(root, 'etc/systemd/system/burrowd.service'))).toBe(false);
  });
});

describe('burrow-server: unit, sample config, install-server.sh and uninstall-server.sh', () => {
  const unitText = readFileSync(SERVER_UNIT, 'utf8');
  const unit = directives(unitText);
  const SERVER_FILES = ['burrow-server', 'better_sqlite3.node'];

  it('the unit runs the server with no privilege, reloading policies on SIGHUP', () => {
    expect(Object.fromEntries(unit)).toMatchObject({
      ...COMMON_HARDENING,
      ExecStart: '/usr/local/lib/burrow-server/burrow-server serve --config /etc/burrow-server/config.hujson',
      ExecReload: '/bin/kill -HUP $MAINPID',
      DynamicUser: 'yes',
      User: 'burrow-server',
      StateDirectory: 'burrow-server',
      PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes',
      RestartPreventExitStatus: '2',
      RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
    });
    expect(unit.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it('the sample config loads, with its commented-out examples too, and fits the unit', () => {
    const dir = tempDir('burrow-config-');
    copyFileSync(SAMPLE_CONFIG, join(dir, 'config.hujson'));
    const config = loadConfig(join(dir, 'config.hujson'));
    expect(config).toEqual({
      db: '/var/lib/burrow-server/burrow.db',
      listen: '0.0.0.0:8080',
      publicUrl: 'https://burrow.example.com',
      stunPort: 3478,
      relays: [],
      relayLimits: {},
      policyFiles: [],
    });

    // Every key the loader knows is shown, and each example is right.
    const text = readFileSync(SAMPLE_CONFIG, 'utf8');
    const uncommented = text.replace(/^(\s*)\/\/(\s*)(?=["{}[\]])/gm, '$1$2');
    writeFileSync(join(dir, 'examples.hujson'), uncommented);
    const full = loadConfig(join(dir, 'examples.hujson'));
    expect(full.relays).toEqual([
      { id: 1, name: 'home', url: 'https://relay.example.com', stun: '203.0.113.1:3478' },
    ]);
    expect(full.relayLimits).toEqual({ bytesPerSecond: 16 << 20, maxQueueBytes: 2 << 20 });
    expect(full.policyFiles).toEqual([{ network: 'family', file: join(dir, 'family.hujson') }]);

    // The database is where the service may write; the ports need no capability.
    expect(dirname(config.db)).toBe(`/var/lib/${unit.get('StateDirectory')}`);
    const port = Number(config.listen!.split(':').at(-1));
    expect(port).toBeGreaterThanOrEqual(1024);
    expect(config.stunPort).toBeGreaterThanOrEqual(1024);
    expect(unit.get('CapabilityBoundingSet')).toBe('');
    expect(unit.get('AmbientCapabilities')).toBe('');
  });

  it('installs the server, its link, unit and config; the uninstall leaves nothing behind', () => {
    const root = systemRoot();
    const pkg = fakePackage(SERVER_FILES);
    const before = listing(root);
    const out = ok(INSTALL_SERVER, { ...files(root), BURROW_SERVER_DIR: pkg });
    expect(out).toContain('wrote the sample config /etc/burrow-server/config.hujson');
    const lib = 'usr/local/lib/burrow-server';
    expect(readdirSync(join(root, lib)).sort()).toEqual([
      'better_sqlite3.node',
      'burrow-server',
      'config.sample.hujson',
      'uninstall-server.sh',
    ]);
    expect(modeOf(root, `${lib}/burrow-server`)).toBe(0o755);
    expect(modeOf(root, `${lib}/better_sqlite3.node`)).toBe(0o644);
    expect(linkOf(root, 'usr/local/bin/burrow-server')).toBe('/usr/local/lib/burrow-server/burrow-server');
    expect(read(root, 'etc/systemd/system/burrow-server.service')).toBe(unitText);
    expect(modeOf(root, 'etc/systemd/system/burrow-server.service')).toBe(0o644);
    expect(read(root, 'etc/burrow-server/config.hujson')).toBe(readFileSync(SAMPLE_CONFIG, 'utf8'));
    expect(modeOf(root, 'etc/burrow-server/config.hujson')).toBe(0o644);

    const again = listing(root);
    expect(ok(INSTALL_SERVER, { ...files(root), BURROW_SERVER_DIR: pkg })).toContain(
      'kept /etc/burrow-server/config.hujson',
    );
    expect(listing(root)).toEqual(again);

    ok(UNINSTALL_SERVER, files(root));
    expect(listing(root)).toEqual(before);
    ok(UNINSTALL_SERVER, files(root));
    expect(listing(root)).toEqual(before);
  });

  it('never overwrites a config, keeps an edited one on uninstall, and purge takes it and the state', () => {
    const root = systemRoot();
    const before = listing(root);
    writeFile(join(root, 'etc/burrow-server/config.hujson'), '{ "db": "mine.db" }\n', 0o640);
    ok(INSTALL_SERVER, { ...files(root), BURROW_SERVER_DIR: fakePackage(SERVER_FILES) });
    expect(read(root, 'etc/burrow-server/config.hujson')).toBe('{ "db": "mine.db" }\n');
    // What the running service would have made (DynamicUser: the state is in /var/lib/private).
    writeFile(join(root, 'var/lib/private/burrow-server/burrow.db'), 'db', 0o600);
    symlinkSync('private/burrow-server', join(root, 'var/lib/burrow-server'));
    writeFile(join(root, 'etc/burrow-server/family.hujson'), '{}\n', 0o644);

    expect(ok(UNINSTALL_SERVER, files(root))).toContain('kept /etc/burrow-server/config.hujson (edited');
    expect(read(root, 'etc/burrow-server/family.hujson')).toBe('{}\n');
    expect(read(root, 'var/lib/private/burrow-server/burrow.db')).toBe('db');

    rmSync(join(root, 'etc/burrow-server/family.hujson'));
    ok(UNINSTALL_SERVER, { ...files(root), BURROW_PURGE: '1' });
    rmSync(join(root, 'var/lib/private'), { recursive: true }); // made above, by the "service"
    expect(listing(root)).toEqual(before);
  });

  it.each([
    ['no BURROW_SERVER_DIR', {}, 'BURROW_SERVER_DIR is not set'],
    ['a relative BURROW_SERVER_DIR', { BURROW_SERVER_DIR: 'dist/package/server' }, 'is not an absolute path'],
    ['no burrow-server in it', { BURROW_SERVER_DIR: 'PKG' }, 'has no executable burrow-server'],
    [
      'a DESTDIR with systemctl',
      { BURROW_SERVER_DIR: 'PKG', BURROW_INSTALL_NO_SYSTEMCTL: '' },
      'DESTDIR is set',
    ],
  ])('install-server.sh refuses %s with a clear message, writing nothing', (_, env, message) => {
    const root = systemRoot();
    const pkg = fakePackage(['better_sqlite3.node']);
    const before = listing(root);
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace('PKG', pkg)]));
    const result = run(INSTALL_SERVER, { ...files(root), ...resolved });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^install-server: .*${message}`, 'm'));
    expect(listing(root)).toEqual(before);
  });

  it.skipIf(!systemdAnalyze)('systemd-analyze verify accepts the unit without a word', () => {
    const root = systemRoot();
    ok(INSTALL_SERVER, { ...files(root), BURROW_SERVER_DIR: fakePackage(SERVER_FILES) });
    expect(verifyUnit(root, unitText, 'burrow-server.service')).toEqual({ status: 0, output: '' });
  });
});
