/**
 * Installs burrowd: asks for the administrator password (through @vscode/sudo-prompt: pkexec on
 * Linux, the system dialog on macOS) and runs ONE fixed script, scripts/install-helper.sh, as root.
 * Nothing the UI sends reaches the command line: the call takes no arguments, the script path is
 * the app's own, and the only variable is the packaged binary's path, set by the packager.
 */
import { exec } from '@vscode/sudo-prompt';
import type { InstallResult } from './broker.js';

/** sudo-prompt's message when the user cancels the password dialog. */
export const DECLINED = 'User did not grant permission.';

/** What sudo-prompt does, behind a facade so tests can play the user who declines or accepts. */
export interface Elevator {
  /** Runs `command` with bash as root after asking the user; rejects with sudo-prompt's error. */
  run(command: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string }>;
}

export const sudoPrompt: Elevator = {
  run: (command, env) =>
    new Promise((resolve, reject) => {
      // sudo-prompt refuses an empty env object.
      const options = Object.keys(env).length > 0 ? { name: 'Burrow', env } : { name: 'Burrow' };
      exec(command, options, (error, stdout, stderr) => {
        if (error) return reject(Object.assign(error, { stderr: String(stderr ?? '') }));
        resolve({ stdout: String(stdout ?? ''), stderr: String(stderr ?? '') });
      });
    }),
};

/**
 * sudo-prompt pastes the command and env values into double-quoted shell strings, where $, ` and
 * \ still expand; the script path also sits in single quotes. Paths are limited to characters
 * that are plain text inside both.
 */
const SAFE_PATH = /^\/[A-Za-z0-9 _.+/-]*$/;

export interface InstallOptions {
  elevator: Elevator;
  /** The app's own copy of scripts/install-helper.sh. */
  scriptPath: string;
  /** The packaged burrowd to install; without it the script installs a launcher for this checkout. */
  helperBinary?: string;
}

/** The last `lines` lines of the script's output, on one line, for the UI. */
const tail = (text: string, lines: number) => text.trim().split('\n').slice(-lines).join(' ').slice(0, 900);

export async function installHelper({
  elevator,
  scriptPath,
  helperBinary,
}: InstallOptions): Promise<InstallResult> {
  for (const path of [scriptPath, helperBinary ?? '/']) {
    if (!SAFE_PATH.test(path))
      return {
        installed: false,
        detail: `cannot install from ${JSON.stringify(path.slice(0, 200))}: unusual characters in the path`,
      };
  }
  const env: Record<string, string> = helperBinary ? { BURROW_HELPER_BINARY: helperBinary } : {};
  try {
    const { stdout } = await elevator.run(`/bin/bash '${scriptPath}'`, env);
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
