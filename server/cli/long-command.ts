/** What `serve` and `relay`, the commands that run until stopped, share. */
import type { Io } from './admin.js';
import { UsageError } from './args.js';

/** Resolves on SIGINT or SIGTERM: how the long-running commands are stopped. */
export function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/** Runs `serve` or `relay` to its end: 0 after a clean stop, 2 on a usage error, 1 otherwise. */
export async function runLongCommand(io: Io, usage: string, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`burrow-server: ${error.message}\n${usage}\n`);
      return 2;
    }
    io.err(`burrow-server: ${(error as Error).message}\n`);
    return 1;
  }
}
