import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../server/store/sqlite-store.js';
import { afterTest, sleep } from './control-lab.js';
import { freePort } from './ports.js';
import { BURROW_SERVER } from './programs.js';

/**
 * burrow-server as a real process (bin/burrow-server, or the packaged one) serving a database in a
 * temp directory, with the store open on the same file (a second writer, as the admin commands are)
 * and the admin CLI on it. Stopped and removed by control-lab.ts's runCleanups.
 * The first start may compile the server: give the first test a long timeout, or warm it up.
 */
export async function serverProcess() {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-server-process-'));
  afterTest(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'burrow.db');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // No STUN: its default port, 3478, would be shared with every other test running here.
  const args = ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--stun-port', '0'];
  const proc = spawn(BURROW_SERVER, args, {
    stdio: 'ignore',
  });
  afterTest(async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  });
  for (let i = 0; ; i++) {
    const up = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (proc.exitCode !== null || i > 2400) throw new Error('burrow-server did not start');
    await sleep(50);
  }
  const store = openSqliteStore({ path: db });
  afterTest(() => store.close());
  /** Runs an admin command on the database: its exit code and what it wrote. */
  const cli = (...argv: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(BURROW_SERVER, [...argv, '--db', db], (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
  return { url, db, store, cli, pid: proc.pid! };
}
