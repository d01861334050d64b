import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 (scripts/setup installs it). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** initdb and the server refuse root: run as root, the cluster runs as nobody. */
const NOBODY = { uid: 65534, gid: 65534 };
const isRoot = () => process.getuid?.() === 0;

/** A throwaway PostgreSQL cluster: its own temp directory, listening only on a unix socket in it. */
export interface PgCluster {
  /** The directory holding the data, the log and the socket (libpq's host for it). */
  readonly dir: string;
  /** The cluster's superuser (trusted on the socket: only this machine's root and nobody reach it). */
  readonly user: string;
  /** Runs SQL through psql on `database` (default postgres); resolves with its unaligned output. */
  psql(sql: string, database?: string): Promise<string>;
  /** Stops the server immediately (as a crash would: connections cut, no checkpoint), keeping the data. */
  pause(): Promise<void>;
  /** Starts the paused server again on the same data. */
  resume(): Promise<void>;
  /** Stops the server (immediately: the data is thrown away) and removes the directory. */
  stop(): Promise<void>;
}

/** A PostgreSQL program, as nobody when we are root, with the environment's locale out of the way. */
function asOwner(program: string, args: string[]) {
  const env = { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } };
  if (!isRoot()) return run(join(PG_BIN, program), args, env);
  const as = [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups'];
  return run('setpriv', [...as, join(PG_BIN, program), ...args], env);
}

/**
 * Starts a cluster: initdb and pg_ctl in a temp directory, as nobody (or ourselves when we are not
 * root), no TCP at all, fsync off (nothing here is worth keeping). Stopped and removed again if any
 * step fails.
 */
export async function startPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-pg-'));
  if (isRoot()) chownSync(dir, NOBODY.uid, NOBODY.gid);
  const data = join(dir, 'data');
  const user = 'burrow';
  let started = false;
  const stop = async () => {
    try {
      if (started) await asOwner('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      started = false; // a second stop has nothing left to do
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const options = `-c listen_addresses='' -c unix_socket_directories='${dir}' -c fsync=off -c full_page_writes=off`;
  const start = async () => {
    started = true;
    await asOwner('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start']);
  };
  try {
    const init = ['-D', data, '-U', user, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'];
    await asOwner('initdb', init);
    await start();
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  return {
    dir,
    user,
    async psql(sql, database = 'postgres') {
      const { stdout } = await run(
        'psql',
        ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-U', user, '-d', database, '-c', sql],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      );
      return stdout.trim();
    },
    async pause() {
      await asOwner('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      started = false;
    },
    resume: start,
    stop,
  };
}
