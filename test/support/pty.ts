/**
 * A command run in a real pseudo-terminal (util-linux's script(1) makes it and copies between it
 * and pipes), for prompts that need a terminal: what the command writes arrives as the terminal
 * shows it (echoed input included, with "\r\n" line ends), and `type` writes as if at the keyboard.
 */
import { spawn } from 'node:child_process';
import { waitFor } from './polling.js';

export interface PtySession {
  /** Everything the terminal showed so far. */
  screen(): string;
  /** Waits until the screen, from `from` on, contains `text`; returns where it ends. */
  waitFor(text: string, from?: number, timeoutMs?: number): Promise<number>;
  type(keys: string): void;
  /** The command's exit code (script -e passes it on). */
  exited: Promise<number | null>;
  kill(): void;
}

/** Runs `command` (a shell command line) in a new pseudo-terminal, in `cwd`. */
export function inPty(command: string, options: { cwd?: string } = {}): PtySession {
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let screen = '';
  child.stdout.on('data', (d) => (screen += d));
  child.stderr.on('data', (d) => (screen += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    screen: () => screen,
    waitFor: async (text, from = 0, timeoutMs = 30_000) => {
      await waitFor(`"${text}" on the terminal`, () => screen.indexOf(text, from) >= 0, timeoutMs).catch(
        (error: Error) => {
          throw new Error(`${error.message}; it shows ${JSON.stringify(screen.slice(from))}`);
        },
      );
      return screen.indexOf(text, from) + text.length;
    },
    type: (keys) => child.stdin.write(keys),
    exited,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
