/**
 * For the installer tests (test/package/install-*.test.ts): scratch roots that look like a
 * system's, stand-in packaged programs, running the scripts (as nobody too), full listings of a
 * root to show an uninstall left nothing behind, and reading and verifying systemd units.
 */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const script = (path: string) => join(REPO, path);
export const INSTALL = script('scripts/install-helper.sh');
export const UNINSTALL = script('scripts/uninstall-helper.sh');
export const INSTALL_SERVER = script('scripts/install-server.sh');
export const UNINSTALL_SERVER = script('scripts/uninstall-server.sh');
export const UNIT_TEMPLATE = script('packaging/systemd/burrowd.service');
export const SERVER_UNIT = script('packaging/systemd/burrow-server.service');
export const SAMPLE_CONFIG = script('packaging/server/config.hujson');

export const ROOT = process.getuid?.() === 0;
export const NOBODY = 65534;
/** The uid `run(..., { unprivileged: true })` runs as: nobody (through setpriv) for root, else the caller's own. */
export const UNPRIVILEGED_UID = ROOT ? NOBODY : process.getuid!();
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

const dirs: string[] = [];
/** Removes every directory tempDir made; each test file calls it from afterAll. */
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function tempDir(prefix = 'burrow-install-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  return dir;
}

/** A scratch root with the directories every system has (which an uninstall must not remove). */
export function systemRoot(): string {
  const root = tempDir('burrow-root-');
  for (const d of ['etc/systemd/system', 'usr/bin', 'usr/local/bin', 'usr/local/lib', 'var/lib', 'opt'])
    mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  return root;
}

export function writeFile(path: string, text: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

export const HELPER_FILES = ['burrowd', 'burrow', 'burrowd-wg', 'burrow_native.node', 'burrow_crypto.node'];

/** A packaged helper's directory (or server's): stand-in executables, and addons mode 0755 as the build makes them. */
export function fakePackage(files: string[], dir = tempDir('burrow-pkg-')): string {
  for (const f of files) {
    writeFile(join(dir, f), f.endsWith('.node') ? `addon ${f}\n` : `#!/bin/sh\necho ${f} "$@"\n`, 0o755);
  }
  return dir;
}

/** Every path under `root`, with its type, mode and content (or link target): what "unchanged" means. */
export function listing(root: string): string[] {
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

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a script with only PATH and `env` in its environment (no SUDO_UID from whoever runs the
 * tests); with `unprivileged`, as an uid without root's powers (UNPRIVILEGED_UID).
 */
export function run(
  path: string,
  env: Record<string, string>,
  options: { args?: string[]; shell?: string; unprivileged?: boolean } = {},
): Run {
  const shell = options.shell ?? '/bin/bash';
  const argv = [shell, path, ...(options.args ?? [])];
  const [command, ...args] =
    options.unprivileged && ROOT
      ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv]
      : argv;
  const result = spawnSync(command!, args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a script that must succeed; returns its stdout. */
export function ok(
  path: string,
  env: Record<string, string>,
  options: Parameters<typeof run>[2] = {},
): string {
  const result = run(path, env, options);
  expect(result.stderr).not.toMatch(/^(install|uninstall)-\w+: /m);
  expect(result, `${path} failed: ${result.stderr}`).toMatchObject({ status: 0 });
  return result.stdout;
}

export const files = (root: string) => ({ DESTDIR: root, BURROW_INSTALL_NO_SYSTEMCTL: '1' });
export const read = (root: string, path: string) => readFileSync(join(root, path), 'utf8');
export const modeOf = (root: string, path: string) => lstatSync(join(root, path)).mode & 0o7777;
export const linkOf = (root: string, path: string) => readlinkSync(join(root, path));
export const unitOf = (root: string) => read(root, 'etc/systemd/system/burrowd.service');

/** The value of each `Key=` line of a unit (the last one wins, as in systemd), comments ignored. */
export function directives(unit: string): Map<string, string> {
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
 * Without systemd-analyze it fails: scripts/setup installs it.
 */
export function verifyUnit(
  root: string,
  unitText: string,
  name: string,
): { status: number | null; output: string } {
  if (!existsSync(SYSTEMD_ANALYZE))
    throw new Error(`${SYSTEMD_ANALYZE} missing: scripts/setup installs systemd`);
  const text = unitText.replace(/^ExecStart=(\S+)/m, (_, exe: string) => `ExecStart=${root}${exe}`);
  const dir = tempDir('burrow-verify-');
  writeFileSync(join(dir, name), text);
  const result = spawnSync(SYSTEMD_ANALYZE, ['verify', '--man=no', join(dir, name)], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/** The hardening both units share: what a reader of the units should find, whatever else changes. */
export const COMMON_HARDENING = {
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
