/**
 * What scripts/install-helper.sh refuses to trust. Root installs what it reads into places it runs
 * from at every boot, so: every file it copies must be root's or the asking user's and writable by
 * nobody else, and match the app's hashes when the app gave them; what runs in place (the deb's
 * helper, a checkout's launchers) must be root's alone. A refused install writes nothing. Run for
 * real into scratch roots, with files owned by a real second uid.
 */

import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fakePackage,
  files,
  HELPER_FILES,
  INSTALL,
  listing,
  NOBODY,
  ok,
  ROOT,
  read,
  removeTempDirs,
  run,
  systemRoot,
  tempDir,
  UNINSTALL,
  UNIT_TEMPLATE,
  writeFile,
} from '../support/install-lab.js';

afterAll(removeTempDirs);

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** BURROW_HELPER_SHA256 as the app computes it for `pkg` and the scripts beside INSTALL. */
function hashesOf(pkg: string, names = HELPER_FILES): string {
  return [
    ...names.map((f) => `${f}=${sha256(join(pkg, f))}`),
    `uninstall-helper.sh=${sha256(UNINSTALL)}`,
    `burrowd.service=${sha256(UNIT_TEMPLATE)}`,
  ].join(' ');
}

/** Runs the install, which must fail with exactly `message` and leave the root as it was. */
function refused(root: string, env: Record<string, string>, message: string, script = INSTALL): void {
  const before = listing(root);
  const result = run(script, { ...files(root), ...env });
  expect(result.stderr).toBe(`install-helper: ${message}\n`);
  expect(result.status).toBe(1);
  expect(listing(root)).toEqual(before);
}

describe.skipIf(!ROOT)(
  'install-helper.sh copies only files root may trust (needs root: files of another uid)',
  () => {
    it('copies a helper owned by the user who asked; refuses one owned by another user', () => {
      const root = systemRoot();
      const pkg = fakePackage(HELPER_FILES);
      for (const f of ['', ...HELPER_FILES]) chownSync(join(pkg, f), 1000, 1000);
      ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg, PKEXEC_UID: '1000' });
      expect(read(root, 'usr/local/lib/burrow/burrowd')).toBe(readFileSync(join(pkg, 'burrowd'), 'utf8'));

      const fresh = systemRoot();
      refused(
        fresh,
        { BURROW_HELPER_DIR: pkg, PKEXEC_UID: '1001' },
        `${pkg}/burrowd is owned by uid 1000, not by root or the user installing (uid 1001)`,
      );
      refused(
        fresh,
        { BURROW_HELPER_DIR: pkg },
        `${pkg}/burrowd is owned by uid 1000, not by root or the user installing`,
      );
    });

    it('refuses a helper file owned by anybody else, even one addon', () => {
      const root = systemRoot();
      const pkg = fakePackage(HELPER_FILES);
      chownSync(join(pkg, 'burrow_native.node'), NOBODY, NOBODY);
      refused(
        root,
        { BURROW_HELPER_DIR: pkg, SUDO_UID: '1000' },
        `${pkg}/burrow_native.node is owned by uid ${NOBODY}, not by root or the user installing (uid 1000)`,
      );
    });

    it.each([
      ['group', 'burrowd', 0o775],
      ['world', 'burrowd', 0o757],
      ['group', 'burrow_crypto.node', 0o664],
      ['world', 'burrow', 0o777],
      ['group', 'burrowd-wg', 0o775],
    ])('refuses a %s-writable %s', (_, file, mode) => {
      const root = systemRoot();
      const pkg = fakePackage(HELPER_FILES);
      chmodSync(join(pkg, file), mode);
      refused(
        root,
        { BURROW_HELPER_DIR: pkg },
        `${pkg}/${file} is writable by others than its owner (mode ${mode.toString(8)})`,
      );
    });

    it('refuses to stage its copies where another user could swap them', () => {
      const tmp = tempDir('burrow-tmp-');
      chownSync(tmp, NOBODY, NOBODY);
      refused(
        systemRoot(),
        { BURROW_HELPER_DIR: fakePackage(HELPER_FILES), TMPDIR: tmp },
        `${tmp} is owned by uid ${NOBODY}: root copies the files to install there, so it must be root's`,
      );
    });

    it('refuses a unit template or uninstaller beside the script that is not root’s', () => {
      // The script and its siblings as the packaged app ships them: scripts/ and systemd/.
      const app = tempDir('burrow-app-');
      mkdirSync(join(app, 'scripts'));
      mkdirSync(join(app, 'systemd'));
      copyFileSync(INSTALL, join(app, 'scripts/install-helper.sh'));
      copyFileSync(UNINSTALL, join(app, 'scripts/uninstall-helper.sh'));
      copyFileSync(UNIT_TEMPLATE, join(app, 'systemd/burrowd.service'));
      const script = join(app, 'scripts/install-helper.sh');
      const pkg = fakePackage(HELPER_FILES);
      chownSync(join(app, 'systemd/burrowd.service'), NOBODY, NOBODY);
      refused(
        systemRoot(),
        { BURROW_HELPER_DIR: pkg },
        `${app}/systemd/burrowd.service is owned by uid ${NOBODY}, not by root or the user installing`,
        script,
      );
      chownSync(join(app, 'systemd/burrowd.service'), 0, 0);
      chmodSync(join(app, 'scripts/uninstall-helper.sh'), 0o777);
      refused(
        systemRoot(),
        { BURROW_HELPER_DIR: pkg },
        `${app}/scripts/uninstall-helper.sh is writable by others than its owner (mode 777)`,
        script,
      );
    });
  },
);

describe('install-helper.sh with the app’s hashes (BURROW_HELPER_SHA256)', () => {
  it('installs when every file matches', () => {
    const root = systemRoot();
    const pkg = fakePackage(HELPER_FILES);
    ok(INSTALL, { ...files(root), BURROW_HELPER_DIR: pkg, BURROW_HELPER_SHA256: hashesOf(pkg) });
    for (const f of HELPER_FILES)
      expect(read(root, `usr/local/lib/burrow/${f}`)).toBe(readFileSync(join(pkg, f), 'utf8'));
  });

  it('refuses a file swapped after the app hashed it', () => {
    const root = systemRoot();
    const pkg = fakePackage(HELPER_FILES);
    const hashes = hashesOf(pkg);
    writeFile(join(pkg, 'burrowd'), '#!/bin/sh\necho somebody else\n', 0o755);
    refused(
      root,
      { BURROW_HELPER_DIR: pkg, BURROW_HELPER_SHA256: hashes },
      `${pkg}/burrowd is not the file the app checked: its sha256 is ${sha256(join(pkg, 'burrowd'))}, ` +
        `not ${/\bburrowd=([0-9a-f]+)/.exec(hashes)![1]}`,
    );
  });

  it.each([
    [
      'a file the app did not hash (an addon added after)',
      (pkg: string) => hashesOf(pkg, ['burrowd', 'burrow', 'burrowd-wg', 'burrow_native.node']),
      'BURROW_HELPER_SHA256 has no sha256 for burrow_crypto.node',
    ],
    [
      'a hashed file that is gone',
      (pkg: string) => `${hashesOf(pkg)} extra.node=${'0'.repeat(64)}`,
      'BURROW_HELPER_SHA256 names extra.node, which this install does not read',
    ],
    [
      'a malformed entry',
      (pkg: string) => `${hashesOf(pkg)} burrowd`,
      "BURROW_HELPER_SHA256: 'burrowd' is not NAME=SHA256 (64 lowercase hex digits)",
    ],
    [
      'a name given twice',
      (pkg: string) => `${hashesOf(pkg)} burrowd=${sha256(join(pkg, 'burrowd'))}`,
      'BURROW_HELPER_SHA256 names burrowd twice',
    ],
  ])('refuses %s', (_, hashes, message) => {
    const pkg = fakePackage(HELPER_FILES);
    refused(systemRoot(), { BURROW_HELPER_DIR: pkg, BURROW_HELPER_SHA256: hashes(pkg) }, message);
  });

  it('refuses hashes for an install that copies nothing', () => {
    refused(
      systemRoot(),
      { BURROW_HELPER_SHA256: `burrowd=${'0'.repeat(64)}` },
      'BURROW_HELPER_SHA256 is for copying from BURROW_HELPER_DIR, not for an install in place',
    );
  });

  it('installs the copy it checked, in a directory of its own, and removes that directory', () => {
    const root = systemRoot();
    const pkg = fakePackage(HELPER_FILES);
    const tmp = tempDir('burrow-tmp-');
    const original = readFileSync(join(pkg, 'burrowd'), 'utf8');
    // A sha256sum that notes where the file it hashes lies, then swaps the source's burrowd: an
    // attacker who changes the file right after the check. The install must not see the change.
    const bin = tempDir('burrow-bin-');
    const log = join(tempDir('burrow-log-'), 'sha256sum.log');
    writeFile(
      join(bin, 'sha256sum'),
      '#!/bin/bash\n' +
        `f=$(readlink /proc/self/fd/0); stat -c '%u %a %n' "\${f%/*}" "$f" >>'${log}'\n` +
        `[[ $f != */burrowd ]] || echo 'echo swapped' >'${pkg}/burrowd'\n` +
        'exec /usr/bin/sha256sum "$@"\n',
      0o755,
    );
    const out = ok(INSTALL, {
      ...files(root),
      PATH: `${bin}:${process.env.PATH}`,
      TMPDIR: tmp,
      BURROW_HELPER_DIR: pkg,
      BURROW_HELPER_SHA256: hashesOf(pkg),
    });
    expect(out).toContain(
      `installed ${pkg}/burrowd, ${pkg}/burrow, ${pkg}/burrowd-wg and 2 addon(s) into /usr/local/lib/burrow`,
    );
    expect(read(root, 'usr/local/lib/burrow/burrowd')).toBe(original);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const stage = lines[0]!.split(' ')[2]!;
    expect(stage).toMatch(new RegExp(`^${tmp}/burrow-install\\.\\w+$`));
    expect(lines.filter((_, i) => i % 2 === 0)).toEqual(Array(7).fill(`0 700 ${stage}`));
    expect(readdirSync(tmp)).toEqual([]);
  });
});

/** A checkout as the launchers need it: the scripts, the unit template and bin/. */
function fakeCheckout(): string {
  const dir = tempDir('burrow-checkout-');
  for (const d of ['scripts', 'packaging/systemd', 'bin', 'dist'])
    mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(INSTALL, join(dir, 'scripts/install-helper.sh'));
  copyFileSync(UNINSTALL, join(dir, 'scripts/uninstall-helper.sh'));
  copyFileSync(UNIT_TEMPLATE, join(dir, 'packaging/systemd/burrowd.service'));
  fakePackage(['burrowd', 'burrow'], join(dir, 'bin'));
  writeFileSync(join(dir, 'dist/burrowd.js'), '// burrowd\n');
  return dir;
}

describe.skipIf(!ROOT)(
  'install-helper.sh launchers for a checkout (needs root: files of another uid)',
  () => {
    it('installs them for a checkout only root can change', () => {
      const checkout = fakeCheckout();
      const root = systemRoot();
      ok(join(checkout, 'scripts/install-helper.sh'), files(root));
      expect(read(root, 'usr/local/lib/burrow/burrowd')).toContain(`exec ${checkout}/bin/burrowd "$@"`);
    });

    it.each([
      [
        'owned by another user',
        (c: string) => chownSync(c, 1000, 1000),
        (c: string) => `${c} is owned by uid 1000`,
      ],
      [
        'with a file of another user in it',
        (c: string) => chownSync(join(c, 'dist/burrowd.js'), NOBODY, NOBODY),
        (c: string) => `${c}/dist/burrowd.js is not root's alone`,
      ],
      [
        'with a group-writable file in it',
        (c: string) => chmodSync(join(c, 'bin/burrowd'), 0o775),
        (c: string) => `${c}/bin/burrowd is not root's alone`,
      ],
      [
        'with a world-writable directory in it',
        (c: string) => chmodSync(join(c, 'dist'), 0o777),
        (c: string) => `${c}/dist is not root's alone`,
      ],
    ])('refuses a checkout %s', (_, spoil, what) => {
      const checkout = fakeCheckout();
      spoil(checkout);
      const root = systemRoot();
      const before = listing(root);
      const result = run(join(checkout, 'scripts/install-helper.sh'), { ...files(root), SUDO_UID: '1000' });
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/^install-helper: [^\n]+\n$/);
      expect(result.stderr).toContain(`install-helper: ${what(checkout)}`);
      expect(listing(root)).toEqual(before);
    });

    it('refuses a checkout inside a directory another user owns', () => {
      const parent = tempDir('burrow-home-');
      const checkout = fakeCheckout();
      const inside = join(parent, 'burrow');
      cpSync(checkout, inside, { recursive: true });
      chownSync(parent, NOBODY, NOBODY);
      const result = run(join(inside, 'scripts/install-helper.sh'), files(systemRoot()));
      expect(result.stderr).toBe(
        `install-helper: ${parent} is owned by uid ${NOBODY}: root runs it in place, so it must be root's\n`,
      );
    });
  },
);

describe.skipIf(!ROOT)('install-helper.sh in place (the deb) (needs root: files of another uid)', () => {
  const helper = '/opt/Burrow/resources/helper';
  const inPlace = { BURROW_HELPER_DIR: helper, BURROW_HELPER_IN_PLACE: '1', SUDO_UID: '1000' };

  it.each([['burrow'], ['burrowd-wg']])(
    'refuses a package file that is not root’s, even one owned by the user who asked: %s',
    (file) => {
      const root = systemRoot();
      fakePackage(HELPER_FILES, join(root, helper));
      chownSync(join(root, helper, file), 1000, 1000);
      refused(
        root,
        inPlace,
        `${root}${helper}/${file} is owned by uid 1000: root runs it in place, so it must be root's`,
      );
    },
  );

  it('refuses a package directory others can write to', () => {
    const root = systemRoot();
    fakePackage(HELPER_FILES, join(root, helper));
    chmodSync(join(root, 'opt/Burrow/resources'), 0o777);
    refused(
      root,
      inPlace,
      `${root}/opt/Burrow/resources is writable by others than its owner (mode 777): root runs it in place`,
    );
  });
});
