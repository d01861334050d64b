import { execFile } from 'node:child_process';

/** Runs `ip` with an argument vector (never a shell string). Rejects with ip's own message. */
export type IpRunner = (args: string[]) => Promise<string>;

export const runIp: IpRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new IpCommandError(args, stderr.trim() || error.message));
      else resolve(stdout);
    });
  });

export class IpCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly detail: string,
  ) {
    super(`ip ${args.join(' ')}: ${detail}`);
  }
}
