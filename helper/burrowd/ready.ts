/**
 * Tells whoever waits for burrowd that it is ready: systemd, for a unit of Type=notify (sd_notify's
 * "READY=1" to the socket in NOTIFY_SOCKET), and the parent of a `--daemon` start (daemon.ts: the
 * same words on the pipe in BURROWD_READY_FD). Standalone mode is ready once its interface carries
 * traffic; the mesh node once its LocalAPI answers.
 */
import { closeSync, writeSync } from 'node:fs';
import { native } from '../native/index.js';
import type { Log } from './log.js';

/** The environment variable naming the pipe of a --daemon start. */
export const READY_FD = 'BURROWD_READY_FD';

export function signalReady(log: Log): void {
  const socket = process.env.NOTIFY_SOCKET;
  if (socket) {
    // Unset, as sd_notify(3) recommends, so that no child (ip, nft) speaks for burrowd.
    delete process.env.NOTIFY_SOCKET;
    try {
      native().sdNotify(socket, 'READY=1\n');
    } catch (error) {
      log.error(
        `cannot tell systemd burrowd is ready (NOTIFY_SOCKET ${socket}): ${(error as Error).message}`,
      );
    }
  }
  const fd = Number(process.env[READY_FD]);
  if (Number.isInteger(fd) && fd >= 3) {
    delete process.env[READY_FD];
    try {
      writeSync(fd, 'READY=1\n');
      closeSync(fd);
    } catch {
      // The parent is gone: nobody is waiting.
    }
    // The parent stops reading the log once it has returned: what is logged from now on goes nowhere.
    process.stderr.on('error', () => undefined);
  }
}
