import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  fakePackage,
  HELPER_FILES,
  INSTALL,
  listing,
  ROOT,
  removeTempDirs,
  systemRoot,
  tempDir,
  UNINSTALL,
  UNIT_TEMPLATE,
} from '../test/support/install-lab.js';
import { DECLINED, type Elevator, installHelper } from './helper-install.js';

const CHECKOUT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

afterAll(removeTempDirs);

/**
 * The user who types the password: runs the command for real, as pkexec would (as root, which the
 * tests are), with pkexec's bare environment (nothing of the app's), into DESTDIR and without
 * systemctl. PKEXEC_UID is what pkexec sets. `wrap` puts the command inside another one.
 */
function accepting(destdir: string, extra: Record<string, string> = {}, wrap = (c: string) => ['-c', c]) {
  const commands: string[] = [];
  const elevator: Elevator = {
    run: async (command) => {
      commands.push(command);
      return promisify(execFile)('/bin/bash', wrap(command), {
        env: {
          PATH: process.env.PATH,
          SHLVL: '1', // else bash, its stdin a socket, takes itself for an ssh session and reads ~/.bashrc
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

/** A packaged app's resources directory, laid out as electron-builder.yml's extraResources. */
function resources(): string {
  const dir = tempDir('burrow-resources-');
  fakePackage(HELPER_FILES, join(dir, 'helper'));
  for (const sub of ['scripts', 'systemd']) mkdirSync(join(dir, sub));
  copyFileSync(INSTALL, join(dir, 'scripts/install-helper.sh'));
  copyFileSync(UNINSTALL, join(dir, 'scripts/uninstall-helper.sh'));
  copyFileSync(UNIT_TEMPLATE, join(dir, 'systemd/burrowd.service'));
  return dir;
}

const read = (dest: string, path: string) => readFileSync(join(dest, path), 'utf8');
const mode = (dest: string, path: string) => statSync(join(dest, path)).mode & 0o7777;
const STAGED_COMMAND =
  /^BURROW_HELPER_DIR='(\/[^']+)\/helper' BURROW_HELPER_SHA256='([^']+)' \/bin\/bash '\1\/scripts\/install-helper\.sh'$/;

describe('installing burrowd from a checkout', () => {
  it('runs the checkout’s script, which installs a launcher and the unit', async () => {
    const dest = systemRoot();
    const { elevator, commands } = accepting(dest);
    const result = await installHelper({ elevator, source: { checkout: CHECKOUT } });
    expect(result).toEqual({
      installed: true,
      detail: 'burrowd is installed (not started: BURROW_INSTALL_NO_SYSTEMCTL=1)',
    });
    expect(commands).toEqual([`/bin/bash '${CHECKOUT}/scripts/install-helper.sh'`]);

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
});

describe('installing the packaged burrowd', () => {
  it('stages the helper in a private directory, hashes it, installs from there and removes it', async () => {
    const res = resources();
    const tmp = tempDir('burrow-tmp-');
    const dest = systemRoot();
    const { elevator, commands } = accepting(dest, { PKEXEC_UID: '0' });
    const seen: string[] = [];
    const watching: Elevator = {
      run: (command) => {
        const stage = STAGED_COMMAND.exec(command)![1]!;
        const st = statSync(stage);
        seen.push(`${st.mode & 0o7777} ${readdirSync(join(stage, 'helper')).sort().join(' ')}`);
        return elevator.run(command);
      },
    };
    expect(await installHelper({ elevator: watching, source: { resources: res }, tmpDir: tmp })).toEqual({
      installed: true,
      detail: 'burrowd is installed (not started: BURROW_INSTALL_NO_SYSTEMCTL=1)',
    });
    expect(seen).toEqual([`${0o700} burrow burrow_crypto.node burrow_native.node burrowd burrowd-wg`]);
    const [, stage, sums] = STAGED_COMMAND.exec(commands[0]!)!;
    expect(stage).toMatch(new RegExp(`^${tmp}/burrow-helper-\\w{6}$`));
    // The script is never given the app's own files, only the copy.
    expect(commands[0]).not.toContain(res);
    const sha256 = (f: string) =>
      createHash('sha256')
        .update(readFileSync(join(res, f)))
        .digest('hex');
    expect(sums!.split(' ')).toEqual([
      `burrow=${sha256('helper/burrow')}`,
      `burrow_crypto.node=${sha256('helper/burrow_crypto.node')}`,
      `burrow_native.node=${sha256('helper/burrow_native.node')}`,
      `burrowd=${sha256('helper/burrowd')}`,
      `burrowd-wg=${sha256('helper/burrowd-wg')}`,
      `uninstall-helper.sh=${sha256('scripts/uninstall-helper.sh')}`,
      `burrowd.service=${sha256('systemd/burrowd.service')}`,
    ]);
    for (const f of HELPER_FILES)
      expect(read(dest, `usr/local/lib/burrow/${f}`)).toBe(read(res, `helper/${f}`));
    // Root asked: no operator.
    expect(read(dest, 'etc/systemd/system/burrowd.service')).toContain(
      '\nExecStart=/usr/local/lib/burrow/burrowd --socket /run/burrow/burrowd.sock\n',
    );
    expect(readdirSync(tmp)).toEqual([]);
  });

  // An AppImage's resources are on the user's FUSE mount, where root gets "permission denied".
  // FUSE is not available here, so the elevated command runs in a mount namespace where an empty
  // tmpfs hides the resources directory: root cannot see a file of it, as on the FUSE mount. Not
  // reproduced: FUSE's own refusal (EACCES rather than an empty directory).
  it.skipIf(!ROOT)(
    'works when root cannot read the app’s resources (needs root: a mount namespace)',
    async () => {
      const res = resources();
      const dest = systemRoot();
      const hidden = (command: string) => [
        '-c',
        'unshare --mount --propagation private -- /bin/bash -c "mount -t tmpfs -o mode=0 hidden \\"$0\\" && exec /bin/bash -c \\"$1\\""',
        res,
        command,
      ];
      const { elevator } = accepting(dest, {}, hidden);
      expect(await installHelper({ elevator, source: { resources: res } })).toMatchObject({
        installed: true,
      });
      expect(read(dest, 'usr/local/lib/burrow/burrowd')).toBe(read(res, 'helper/burrowd'));
      // And the hiding is real: the app's own script cannot be run that way.
      const direct = await accepting(dest, {}, hidden)
        .elevator.run(`/bin/bash '${res}/scripts/install-helper.sh'`)
        .then(
          () => 'ran',
          (error: { stderr: string }) => error.stderr,
        );
      expect(direct).toMatch(/No such file or directory/);
    },
  );

  it('refuses a staged file swapped after the app hashed it; nothing is installed', async () => {
    const res = resources();
    const tmp = tempDir('burrow-tmp-');
    const dest = systemRoot();
    const before = listing(dest);
    const { elevator } = accepting(dest);
    const swapping: Elevator = {
      run: (command) => {
        const stage = STAGED_COMMAND.exec(command)![1]!;
        writeFileSync(join(stage, 'helper/burrowd'), '#!/bin/sh\necho not burrowd\n');
        return elevator.run(command);
      },
    };
    const result = await installHelper({ elevator: swapping, source: { resources: res }, tmpDir: tmp });
    expect(result).toEqual({
      installed: false,
      detail: expect.stringMatching(
        /^Installing burrowd failed: install-helper: \/\S+\/helper\/burrowd is not the file the app checked: its sha256 is [0-9a-f]{64}, not [0-9a-f]{64}$/,
      ),
    });
    expect(listing(dest)).toEqual(before);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('says so, gracefully, when the user declines the password prompt, and leaves no copy', async () => {
    const tmp = tempDir('burrow-tmp-');
    const run = vi.fn(async () => {
      throw new Error(DECLINED);
    });
    expect(
      await installHelper({ elevator: { run }, source: { resources: resources() }, tmpDir: tmp }),
    ).toEqual({
      installed: false,
      detail: 'Installation cancelled: the administrator password was not given.',
    });
    expect(run).toHaveBeenCalledTimes(1);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('does not ask when the app’s copy of the helper is incomplete', async () => {
    const res = resources();
    const tmp = tempDir('burrow-tmp-');
    const run = vi.fn();
    rmSync(join(res, 'helper/burrowd'));
    const result = await installHelper({ elevator: { run }, source: { resources: res }, tmpDir: tmp });
    expect(result).toEqual({
      installed: false,
      detail: expect.stringMatching(/^The app's copy of burrowd is incomplete: ENOENT: .*helper\/burrowd/),
    });
    expect(run).not.toHaveBeenCalled();
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("reports the script's own failure", async () => {
    const dest = systemRoot();
    const { elevator } = accepting(dest, { BURROW_INSTALL_NO_SYSTEMCTL: '' });
    expect(await installHelper({ elevator, source: { resources: resources() } })).toEqual({
      installed: false,
      detail:
        'Installing burrowd failed: install-helper: DESTDIR is set: not starting a service from outside /',
    });
    expect(existsSync(join(dest, 'usr/local/lib/burrow'))).toBe(false);
  });

  it('refuses paths that would mean something to the shell, without asking', async () => {
    const run = vi.fn();
    for (const [source, tmpDir] of [
      [{ checkout: '/tmp/$(reboot)' }, undefined],
      [{ checkout: 'relative' }, undefined],
      [{ resources: resources() }, '/tmp/`id`'],
      [{ resources: resources() }, "/tmp/it's"],
    ] as const) {
      const result = await installHelper({ elevator: { run }, source, tmpDir });
      expect(result).toMatchObject({ installed: false, detail: expect.stringMatching(/unusual characters/) });
    }
    expect(run).not.toHaveBeenCalled();
  });
});
