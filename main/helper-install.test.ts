import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DECLINED, type Elevator, installHelper } from './helper-install.js';

const SCRIPT = fileURLToPath(new URL('../scripts/install-helper.sh', import.meta.url));
const CHECKOUT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-install-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The user who types the password: runs the command for real, as pkexec would (as root, which the
 * tests are), but into DESTDIR and without systemctl. PKEXEC_UID is what pkexec sets.
 */
function accepting(destdir: string, extra: Record<string, string> = {}) {
  const commands: { command: string; env: Record<string, string> }[] = [];
  const elevator: Elevator = {
    run: async (command, env) => {
      commands.push({ command, env });
      return promisify(execFile)('/bin/bash', ['-c', command], {
        env: {
          PATH: process.env.PATH,
          SHLVL: '1', // else bash, its stdin a socket, takes itself for an ssh session and reads ~/.bashrc
          ...env,
          DESTDIR: destdir,
          BURROW_INSTALL_NO_SYSTEMCTL: '1',
          PKEXEC_UID: '1000',
          ...extra,
        },
      });
    },
  };
  return { elevator, commands };
}

const read = (dest: string, path: string) => readFileSync(join(dest, path), 'utf8');
const mode = (dest: string, path: string) => statSync(join(dest, path)).mode & 0o7777;

describe('installing burrowd', () => {
  it('runs the one fixed script, which installs a launcher for this checkout and the unit', async () => {
    const dest = tempDir();
    const { elevator, commands } = accepting(dest);
    const result = await installHelper({ elevator, scriptPath: SCRIPT });
    expect(result).toEqual({
      installed: true,
      detail: 'burrowd is installed (not started: BURROW_INSTALL_NO_SYSTEMCTL=1)',
    });
    expect(commands).toEqual([{ command: `/bin/bash '${SCRIPT}'`, env: {} }]);

    expect(read(dest, 'usr/local/lib/burrow/burrowd')).toBe(
      '#!/bin/bash\n' +
        '# Written by scripts/install-helper.sh: runs burrowd from a development checkout.\n' +
        `exec ${CHECKOUT}/bin/burrowd "$@"\n`,
    );
    expect(mode(dest, 'usr/local/lib/burrow/burrowd')).toBe(0o755);
    const unit = read(dest, 'etc/systemd/system/burrowd.service');
    expect(mode(dest, 'etc/systemd/system/burrowd.service')).toBe(0o644);
    expect(unit).toContain('[Unit]\nDescription=Burrow mesh VPN helper (burrowd)\n');
    expect(unit).toContain(
      '\nExecStart=/usr/local/lib/burrow/burrowd --socket /run/burrow/burrowd.sock --operator 1000\n',
    );
    expect(unit).toContain('\nRestart=always\n');
    expect(unit).toContain('\nRuntimeDirectory=burrow\nRuntimeDirectoryMode=0755\n');
    expect(unit).toContain('\nStateDirectory=burrow\n');
    expect(unit).toMatch(/\[Install\]\nWantedBy=multi-user\.target\n$/);
  });

  it('copies the packaged binary when the packager names one', async () => {
    const dest = tempDir();
    const binary = join(tempDir(), 'burrowd');
    writeFileSync(binary, '#!/bin/sh\necho packaged burrowd\n', { mode: 0o755 });
    const { elevator, commands } = accepting(dest, { PKEXEC_UID: '0' });
    expect(await installHelper({ elevator, scriptPath: SCRIPT, helperBinary: binary })).toMatchObject({
      installed: true,
    });
    expect(commands[0]!.env).toEqual({ BURROW_HELPER_BINARY: binary });
    expect(read(dest, 'usr/local/lib/burrow/burrowd')).toBe('#!/bin/sh\necho packaged burrowd\n');
    expect(mode(dest, 'usr/local/lib/burrow/burrowd')).toBe(0o755);
    // Root asked: no operator.
    expect(read(dest, 'etc/systemd/system/burrowd.service')).toContain(
      '\nExecStart=/usr/local/lib/burrow/burrowd --socket /run/burrow/burrowd.sock\n',
    );
  });

  it('says so, gracefully, when the user declines the password prompt', async () => {
    const run = vi.fn(async () => {
      throw new Error(DECLINED);
    });
    expect(await installHelper({ elevator: { run }, scriptPath: SCRIPT })).toEqual({
      installed: false,
      detail: 'Installation cancelled: the administrator password was not given.',
    });
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("reports the script's own failure", async () => {
    const dest = tempDir();
    const { elevator } = accepting(dest);
    const result = await installHelper({
      elevator,
      scriptPath: SCRIPT,
      helperBinary: '/nonexistent/burrowd',
    });
    expect(result).toEqual({
      installed: false,
      detail:
        'Installing burrowd failed: install-helper: BURROW_HELPER_BINARY=/nonexistent/burrowd is not an executable file',
    });
    expect(existsSync(join(dest, 'usr/local/lib/burrow/burrowd'))).toBe(false);
  });

  it('never starts a service from a DESTDIR', async () => {
    const dest = tempDir();
    const { elevator } = accepting(dest, { BURROW_INSTALL_NO_SYSTEMCTL: '' });
    expect(await installHelper({ elevator, scriptPath: SCRIPT })).toEqual({
      installed: false,
      detail:
        'Installing burrowd failed: install-helper: DESTDIR is set: not starting a service from outside /',
    });
  });

  it('refuses paths that would mean something to the shell, without asking', async () => {
    const run = vi.fn();
    for (const [scriptPath, helperBinary] of [
      ['/tmp/$(reboot)/install-helper.sh', undefined],
      [SCRIPT, '/opt/burrow/`id`'],
      [SCRIPT, "/opt/it's/burrowd"],
      ['relative/install-helper.sh', undefined],
    ]) {
      const result = await installHelper({ elevator: { run }, scriptPath: scriptPath!, helperBinary });
      expect(result).toMatchObject({ installed: false, detail: expect.stringMatching(/unusual characters/) });
    }
    expect(run).not.toHaveBeenCalled();
  });
});
