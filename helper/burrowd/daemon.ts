/**
 * `burrowd --wg-config FILE --daemon`: start in the background and return only once the interface
 * carries traffic, as wireguard-go and wg-quick do, so that a script may use it the moment the
 * command returns. An interface that merely exists is not ready (its addresses, routes and rules
 * come after it), so the caller waits for the word of the burrowd it started instead.
 *
 * The parent starts burrowd again without --daemon, in its own session, with a pipe as fd 3 (named
 * by BURROWD_READY_FD). The child writes "READY=1" there once it is up (ready.ts). Until then
 * the parent passes the child's log on to its own stderr, so that a failure to start is shown and
 * gives the child's exit code; from then on the child logs nowhere, as wireguard-go's daemon does.
 */
import { spawn } from 'node:child_process';
import { isSea } from 'node:sea';

import { READY_FD } from './ready.js';

/** Starts burrowd with `argv` minus --daemon in the background; resolves with the exit code to return. */
export function daemonize(argv: string[]): Promise<number> {
  const args = argv.filter((arg) => arg !== '--daemon');
  // A single executable is burrowd itself; from a checkout it is node running this script.
  const command = isSea() ? args : [...process.execArgv, process.argv[1]!, ...args];
  const child = spawn(process.execPath, command, {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, [READY_FD]: '3' },
  });
  const log = child.stdio[2]!;
  const ready = child.stdio[3]!;
  log.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return new Promise((resolve) => {
    let said = '';
    ready.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (!said.includes('READY=1\n')) return;
      child.removeAllListeners('exit');
      log.destroy();
      ready.destroy();
      child.unref();
      resolve(0);
    });
    child.once('error', (error) => {
      process.stderr.write(`burrowd: cannot start in the background: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      process.stderr.write(
        `burrowd: exited before its interface was up (${signal ?? `exit code ${code}`})\n`,
      );
      resolve(code || 1);
    });
  });
}
