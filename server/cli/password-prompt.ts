import { spawnSync } from 'node:child_process';
import { readSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { CommandError, UsageError } from './args.js';

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = [0x08, 0x7f];
const ENTER = [0x0a, 0x0d];

/** Runs stty on the terminal `fd`; returns its output, or throws. */
function stty(fd: number, args: string[]): string {
  const result = spawnSync('stty', args, { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0)
    throw new CommandError(`cannot set up the terminal (stty): ${result.stderr || result.error?.message}`);
  return result.stdout.trim();
}

/** One byte from `fd`, waiting if it is non-blocking; null at end of file. */
function readByte(fd: number): number | null {
  const byte = Buffer.alloc(1);
  for (;;) {
    try {
      return readSync(fd, byte, 0, 1, null) === 0 ? null : byte[0]!;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

/**
 * Reads a line typed at the terminal on standard input without showing it, as passwd(1) does,
 * writing `prompt` to standard error (standard output carries only results). The terminal is put
 * out of line mode, without echo and signals, and read a byte at a time, so that Ctrl-C still
 * cancels at once (it arrives as a byte) and the terminal is restored whatever happens; Backspace
 * erases a character, Ctrl-U the line, Enter ends it. Throws UsageError when standard input is not
 * a terminal, CommandError when the user cancels.
 */
export function readHiddenLine(prompt: string, fd = 0): string {
  if (!isatty(fd))
    throw new UsageError(
      'standard input is not a terminal to ask for a password on: give --password-file PATH ' +
        '(- or /dev/stdin: from standard input)',
    );
  const saved = stty(fd, ['-g']);
  stty(fd, ['-echo', '-icanon', '-isig', 'min', '1', 'time', '0']);
  // Only now: what is typed once the prompt shows is never echoed, and Ctrl-C is a byte.
  writeSync(2, prompt);
  const bytes: number[] = [];
  try {
    for (;;) {
      const b = readByte(fd);
      if (b === CTRL_C || (b === CTRL_D && bytes.length === 0) || b === null)
        throw new CommandError('cancelled; nothing changed');
      if (ENTER.includes(b)) break;
      if (b === CTRL_U) bytes.length = 0;
      else if (BACKSPACE.includes(b)) {
        // A whole UTF-8 character: its continuation bytes (10xxxxxx), then its first byte.
        while (bytes.length && (bytes.at(-1)! & 0xc0) === 0x80) bytes.pop();
        bytes.pop();
      } else if (b >= 0x20) bytes.push(b); // other control characters are no part of a password
    }
  } finally {
    stty(fd, [saved]);
    writeSync(2, '\n');
  }
  return Buffer.from(bytes).toString('utf8');
}
