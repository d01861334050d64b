/**
 * Installs burrowd: asks for the administrator password (through @vscode/sudo-prompt: pkexec on
 * Linux, the system dialog on macOS) and runs ONE fixed script, scripts/install-helper.sh, as root.
 * Nothing the UI sends reaches the command line: the call takes no arguments, and the command is
 * made only of paths the app chose and the hashes it computed.
 *
 * A packaged app first stages its helper (helper-stage.ts): root installs from that copy, never
 * from the app's own resources, which root may not be able to read (an AppImage's FUSE mount).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '@vscode/sudo-prompt';
import type { InstallResult } from './broker.js';
import { type Stage, stageHelper } from './helper-stage.js';

/** sudo-prompt's message when the user cancels the password dialog. */
export const DECLINED = 'User did not grant permission.';

/** What sudo-prompt does, behind a facade so tests can play the user who declines or accepts. */
export interface Elevator {
  /**
   * Runs `command` with bash as root after asking the user; rejects with sudo-prompt's error.
   * pkexec clears the environment, so whatever the script needs must be in the command itself.
   */
  run(command: string): Promise<{ stdout: string; stderr: string }>;
}

export const sudoPrompt: Elevator = {
  run: (command) =>
    new Promise((resolve, reject) => {
      exec(command, { name: 'Burrow' }, (error, stdout, stderr) => {
        if (error) return reject(Object.assign(error, { stderr: String(stderr ?? '') }));
        resolve({ stdout: String(stdout ?? ''), stderr: String(stderr ?? '') });
      });
    }),
};

/**
 * sudo-prompt pastes the command into a double-quoted shell string, where $, ` and \ still
 * expand; paths also sit in single quotes. They are limited to characters that are plain text in
 * both (the hashes and file names in the command are too).
 */
const SAFE_PATH = /^\/[A-Za-z0-9 _.+/-]*$/;

/** Where the helper comes from. */
export type HelperSource =
  /** The packaged app's resources directory (helper/, scripts/, systemd/): staged, then installed. */
  | { resources: string }
  /** A development checkout: its scripts/install-helper.sh installs launchers for its bin/. */
  | { checkout: string };

export interface InstallOptions {
  elevator: Elevator;
  source: HelperSource;
  /** Where the stage is made (the user's temporary directory by default). */
  tmpDir?: string;
}

/** The last `lines` lines of the script's output, on one line, for the UI. */
const tail = (text: string, lines: number) => text.trim().split('\n').slice(-lines).join(' ').slice(0, 900);

const unusual = (path: string): InstallResult => ({
  installed: false,
  detail: `cannot install from ${JSON.stringify(path.slice(0, 200))}: unusual characters in the path`,
});

/** The elevated command for a stage: the staged script, told where the files are and their hashes. */
function stagedCommand({ dir, hashes }: Stage): string {
  const sums = [...hashes].map(([name, sha256]) => `${name}=${sha256}`).join(' ');
  return (
    `BURROW_HELPER_DIR='${dir}/helper' BURROW_HELPER_SHA256='${sums}' ` +
    `/bin/bash '${dir}/scripts/install-helper.sh'`
  );
}

async function elevate(elevator: Elevator, command: string): Promise<InstallResult> {
  try {
    const { stdout } = await elevator.run(command);
    return { installed: true, detail: tail(stdout, 1) || 'burrowd is installed and running' };
  } catch (error) {
    const { message, stderr } = error as Error & { stderr?: string };
    if (message === DECLINED)
      return {
        installed: false,
        detail: 'Installation cancelled: the administrator password was not given.',
      };
    const why = tail(stderr ?? '', 3) || message.slice(0, 900);
    return { installed: false, detail: `Installing burrowd failed: ${why}` };
  }
}

export async function installHelper({
  elevator,
  source,
  tmpDir = tmpdir(),
}: InstallOptions): Promise<InstallResult> {
  if ('checkout' in source) {
    const script = join(source.checkout, 'scripts/install-helper.sh');
    return SAFE_PATH.test(script) ? elevate(elevator, `/bin/bash '${script}'`) : unusual(script);
  }
  if (!SAFE_PATH.test(tmpDir)) return unusual(tmpDir);
  let stage: Stage;
  try {
    stage = await stageHelper(source.resources, tmpDir);
  } catch (error) {
    return {
      installed: false,
      detail: `The app's copy of burrowd is incomplete: ${(error as Error).message}`,
    };
  }
  try {
    // The stage's name is tmpDir's (checked above) and mkdtemp's letters and digits.
    return await elevate(elevator, stagedCommand(stage));
  } finally {
    await stage.remove();
  }
}
