/**
 * The desktop app packed by the real electron-builder with electron-builder.yml, as far as this
 * machine allows: the `dir` target (what every installer is made from), offline through
 * electronDist. Electron's binary cannot be downloaded here, so electronDist is a stand-in
 * directory whose `electron` only says so, and carries a fuse wire in Electron's format; everything
 * electron-builder does with our config (the asar, the extraResources, the afterPack check, the
 * fuses flipped by @electron/fuses) is real. The deb, AppImage and rpm targets need
 * tools electron-builder downloads (fpm, appimagetool), which this machine cannot. Runs after the
 * helper is built (scripts/test-packaged.sh sets BURROW_PROGRAMS).
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../support/wg-peers.js';

const require = createRequire(import.meta.url);
const exec = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'burrow-installer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Electron's fuse wire, as its build writes it into the binary (electron/build/fuses/build.py,
 * docs/tutorial/fuses.md): the sentinel, a version byte, a length byte, then one byte per fuse,
 * '0' off, '1' on, 'r' removed. FUSES are the eight fuses @electron/fuses knows, in wire order.
 */
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const FUSES = [
  'runAsNode',
  'cookieEncryption',
  'nodeOptions',
  'nodeCliInspect',
  'embeddedAsarIntegrityValidation',
  'onlyLoadAppFromAsar',
  'loadBrowserProcessSpecificV8Snapshot',
  'grantFileProtocolExtraPrivileges',
] as const;
/** A released Electron's defaults for them (docs/tutorial/fuses.md). */
const ELECTRON_DEFAULTS = '10110001';

/** The fuses of the binary at `path`, by name: read from its wire, as Electron reads them. */
function fusesOf(path: string): Record<string, string> {
  const binary = readFileSync(path);
  const at = binary.indexOf(SENTINEL);
  expect(at, `no fuse wire in ${path}`).toBeGreaterThanOrEqual(0);
  const version = binary[at + SENTINEL.length];
  const length = binary[at + SENTINEL.length + 1]!;
  const wire = binary
    .subarray(at + SENTINEL.length + 2, at + SENTINEL.length + 2 + length)
    .toString('latin1');
  return {
    version: String(version),
    ...Object.fromEntries(FUSES.map((name, i) => [name, wire[i] ?? 'absent'])),
  };
}

/**
 * An unpacked "Electron" for electron-builder to copy: it cannot be the real one here. Its
 * `electron` only says so, but carries a fuse wire in the real format with Electron's defaults,
 * after the exit, where the shell never reads; a real Electron 41 may have more fuses than these.
 */
function standInElectron(): string {
  const dir = join(work, 'electron-dist');
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const wire = `${SENTINEL}\x01${String.fromCharCode(FUSES.length)}${ELECTRON_DEFAULTS}`;
  writeFileSync(
    join(dir, 'electron'),
    Buffer.from(`#!/bin/sh\necho "stand-in: Electron cannot run here" >&2\nexit 1\n# ${wire}\n`, 'latin1'),
  );
  chmodSync(join(dir, 'electron'), 0o755);
  writeFileSync(join(dir, 'version'), require(join(REPO, 'node_modules/electron/package.json')).version);
  return dir;
}

function electronBuilder(output: string, extra: string[] = []) {
  return exec(
    join(REPO, 'node_modules/.bin/electron-builder'),
    ['--linux', 'dir', `-c.electronDist=${standInElectron()}`, `-c.directories.output=${output}`, ...extra],
    { cwd: REPO, timeout: 240_000, maxBuffer: 16 << 20 },
  );
}

describe.skipIf(process.env.BURROW_PROGRAMS === undefined)(
  'the desktop app, packed by electron-builder',
  () => {
    const output = join(work, 'out');
    const unpacked = join(output, 'linux-unpacked');

    beforeAll(async () => {
      execFileSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/build-app.ts')], {
        stdio: 'pipe',
      });
      await electronBuilder(output);
    }, 300_000);

    it('ships the helper, its wg-quick launcher, its addons and the install scripts outside the asar, executable', () => {
      for (const file of [
        'helper/burrowd',
        'helper/burrow',
        'helper/burrowd-wg',
        'scripts/install-helper.sh',
        'scripts/uninstall-helper.sh',
      ]) {
        const mode = statSync(join(unpacked, 'resources', file)).mode;
        expect(mode & 0o111, file).not.toBe(0);
      }
      for (const file of ['helper/burrow_native.node', 'helper/burrow_crypto.node'])
        expect(existsSync(join(unpacked, 'resources', file)), file).toBe(true);
      expect(existsSync(join(unpacked, 'burrow-desktop'))).toBe(true);
    });

    it('flips the fuses: no running as Node, no NODE_OPTIONS or --inspect, only app.asar, checked', () => {
      // The stand-in came with Electron's defaults; electron-builder flipped what the config says.
      expect(fusesOf(join(work, 'electron-dist/electron'))).toMatchObject({
        runAsNode: '1',
        nodeOptions: '1',
      });
      expect(fusesOf(join(unpacked, 'burrow-desktop'))).toEqual({
        version: '1',
        runAsNode: '0',
        cookieEncryption: '0',
        nodeOptions: '0',
        nodeCliInspect: '0',
        embeddedAsarIntegrityValidation: '1',
        onlyLoadAppFromAsar: '1',
        loadBrowserProcessSpecificV8Snapshot: '0',
        // The UI loads its module script from file://, which needs these.
        grantFileProtocolExtraPrivileges: '1',
      });
    });

    it('packs only the bundles in the asar: no node_modules, no sources', () => {
      const asar = require('@electron/asar') as { listPackage(path: string, options: object): string[] };
      const files = asar
        .listPackage(join(unpacked, 'resources/app.asar'), {})
        .map((f) => f.replace(/\\/g, '/'));
      expect(files).toEqual(
        expect.arrayContaining([
          '/package.json',
          '/dist/main/index.cjs',
          '/dist/main/preload.cjs',
          '/dist/renderer/index.html',
          '/dist/renderer/app.js',
          '/assets/tray-connected.png',
        ]),
      );
      expect(files.filter((f) => f.includes('node_modules') || f.endsWith('.ts'))).toEqual([]);
    });

    it('the packed helper is the one that was built, and it runs', async () => {
      const { stdout } = await exec(join(unpacked, 'resources/helper/burrow'), ['version']);
      expect(stdout).toMatch(/^burrow \d+\.\d+\.\d+/);
    });

    it('refuses to pack an app without the helper (afterPack)', async () => {
      const empty = join(work, 'no-helper');
      mkdirSync(empty, { recursive: true });
      // The same config, but with an empty directory where the built helper should be.
      const config = join(work, 'broken.yml');
      const text = readFileSync(join(REPO, 'electron-builder.yml'), 'utf8');
      writeFileSync(config, text.replace('from: dist/package/helper', `from: ${empty}`));
      const failed = await electronBuilder(join(work, 'out-broken'), ['--config', config]).then(
        () => null,
        (error: Error & { stdout?: string; stderr?: string }) => `${error.stdout}${error.stderr}`,
      );
      expect(failed).toMatch(/afterPack: the Burrow helper is not in .*helper\/burrowd is missing/);
    });
  },
);
