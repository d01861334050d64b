import { execFile } from 'node:child_process';

/**
 * Runs `ip` with an argument vector (never a shell string), `input` on its standard input.
 * Rejects with ip's own message.
 */
export type IpRunner = (args: string[], input?: string) => Promise<string>;

export const runIp: IpRunner = (args, input) =>
  new Promise((resolve, reject) => {
    const child = execFile('ip', args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new IpCommandError(args, stderr.trim() || error.message));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });

export class IpCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly detail: string,
  ) {
    super(`ip ${args.join(' ')}: ${detail}`);
  }
}

export type Family = '-4' | '-6';

/**
 * ip reads a batch line as words split at blanks, with quotes and comments: one word must not be
 * able to become several, or a line of its own (the words come from the control server's map).
 */
const SAFE_WORD = /^[^\s"'\\#]+$/;

/**
 * Runs `commands` (ip argument vectors without the family flag) in one `ip FAMILY -batch -`
 * process: one process start instead of one per command, which is most of what each costs. Stops
 * at the first command that fails and rejects with it and ip's message; with `force` it runs every
 * command, and still rejects if any failed.
 */
export async function ipBatch(
  ip: IpRunner,
  family: Family,
  commands: string[][],
  force = false,
): Promise<void> {
  if (commands.length === 0) return;
  for (const command of commands) {
    const bad = command.find((word) => !SAFE_WORD.test(word));
    if (bad !== undefined)
      throw new IpCommandError([family, ...command], `refused the word ${JSON.stringify(bad)}`);
  }
  const args = [family, ...(force ? ['-force'] : []), '-batch', '-'];
  await ip(args, `${commands.map((c) => c.join(' ')).join('\n')}\n`).catch((error: unknown) => {
    if (!(error instanceof IpCommandError)) throw error;
    // ip names the failing line ("Command failed -:3"); the message names its command.
    const line = Number(/Command failed -:(\d+)/.exec(error.detail)?.[1]);
    const failed = commands[line - 1];
    const detail = error.detail.replace(/\n?Command failed -:\d+/g, '').trim();
    throw failed === undefined ? error : new IpCommandError([family, ...failed], detail);
  });
}
