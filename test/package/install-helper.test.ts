/**
 * scripts/install-helper.sh and uninstall-helper.sh (burrowd) and the burrowd unit, run for real
 * into a scratch root (DESTDIR) without systemctl; the packaged programs are stand-ins, as what is
 * tested is the scripts' file handling. An uninstall must leave the root exactly as it was.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  COMMON_HARDENING,
  directives,
  fakePackage,
  files,
  HELPER_FILES,
  INSTALL,
  linkOf,
  listing,
  modeOf,
  NOBODY,
  ok,
  REPO,
  ROOT,
  read,
  removeTempDirs,
  run,
  systemRoot,
  UNINSTALL,
  UNIT_TEMPLATE,
  UNPRIVILEGED_UID,
  unitOf,
  verifyUnit,
  writeFile,
} from '../support/install-lab.js';

afterAll(removeTempDirs);

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

  it('tells systemd when burrowd is ready (Type=notify: it sends READY=1)', () => {
    expect(unit.get('Type')).toBe('notify');
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
    // wg-quick's launcher as it ships: it runs the burrowd beside it.
    copyFileSync(join(REPO, 'bin/burrowd-wg'), join(pkg, 'burrowd-wg'));
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
      'burrowd-wg',
      'uninstall-helper.sh',
    ]);
    for (const f of HELPER_FILES) expect(read(root, `${lib}/${f}`)).toBe(readFileSync(join(pkg, f), 'utf8'));
    expect(read(root, `${lib}/uninstall-helper.sh`)).toBe(readFileSync(UNINSTALL, 'utf8'));
    expect(modeOf(root, `${lib}/burrowd`)).toBe(0o755);
    expect(modeOf(root, `${lib}/burrow`)).toBe(0o755);
    expect(modeOf(root, `${lib}/burrowd-wg`)).toBe(0o755);
    expect(modeOf(root, `${lib}/uninstall-helper.sh`)).toBe(0o755);
    // WG_QUICK_USERSPACE_IMPLEMENTATION=/usr/local/lib/burrow/burrowd-wg: wg-quick runs it with the
    // interface's name, and it runs the installed burrowd (a stand-in that says how it was called).
    expect(execFileSync(join(root, lib, 'burrowd-wg'), ['wg0'], { encoding: 'utf8' })).toBe(
      'burrowd --interface wg0 --daemon\n',
    );
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
    expect(read(root, 'usr/local/lib/burrow/burrowd-wg')).toBe(
      '#!/bin/bash\n' +
        "# Written by scripts/install-helper.sh: runs wg-quick's launcher for burrowd from a development checkout.\n" +
        `exec ${REPO}/bin/burrowd-wg "$@"\n`,
    );
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
      "the app's former BURROW_HELPER_BINARY",
      { BURROW_HELPER_BINARY: 'PKG/burrowd' },
      'BURROW_HELPER_BINARY is not supported any more: give BURROW_HELPER_DIR',
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

  it('works without root into a DESTDIR the unprivileged uid owns', () => {
    const root = systemRoot();
    if (ROOT) {
      chownSync(root, NOBODY, NOBODY);
      for (const d of ['etc/systemd/system', 'usr/bin', 'usr/local/bin', 'usr/local/lib', 'var/lib', 'opt'])
        chownSync(join(root, d), NOBODY, NOBODY);
    }
    const pkg = fakePackage(HELPER_FILES);
    const before = listing(root);
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg, SUDO_UID: '1000' }, { unprivileged: true });
    expect(lstatSync(join(root, 'usr/local/lib/burrow/burrowd')).uid).toBe(UNPRIVILEGED_UID);
    expect(directives(unitOf(root)).get('ExecStart')).toMatch(/ --operator 1000$/);
    ok(UNINSTALL, files(root), { unprivileged: true });
    expect(listing(root)).toEqual(before);
  });

  it.each([
    ['install-helper', INSTALL],
    ['uninstall-helper', UNINSTALL],
  ])('%s.sh refuses / without root, saying so', (name, script) => {
    const refused = run(script, { BURROW_INSTALL_NO_SYSTEMCTL: '1' }, { unprivileged: true });
    expect(refused).toEqual({ status: 1, stdout: '', stderr: `${name}: must run as root\n` });
  });

  it('installs a unit that systemd-analyze verify accepts without a word', () => {
    const root = systemRoot();
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: fakePackage(HELPER_FILES), SUDO_UID: '1000' });
    expect(verifyUnit(root, unitOf(root), 'burrowd.service')).toEqual({ status: 0, output: '' });
  });
});

/**
 * The deb's scripts as electron-builder writes them into the package: it replaces each
 * ${name} made of letters, and fails the build on one it does not know (FpmTarget's writeConfigFile).
 */
