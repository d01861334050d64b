/**
 * The deb and rpm maintainer scripts (packaging/deb/), as electron-builder ships them, run for real
 * into a scratch root without systemctl.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  directives,
  fakePackage,
  files,
  HELPER_FILES,
  INSTALL,
  linkOf,
  listing,
  ok,
  read,
  removeTempDirs,
  run,
  script,
  systemRoot,
  tempDir,
  UNINSTALL,
  UNIT_TEMPLATE,
  unitOf,
  writeFile,
} from '../support/install-lab.js';

afterAll(removeTempDirs);

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
