/**
 * bench:store — registrations per second on each store back end, in the same run: BENCH_DEVICES
 * devices registered one after another, one transaction each (what a fleet joining does to the
 * database), on a fresh SQLite file and on a fresh database of a throwaway PostgreSQL cluster
 * (unix socket, fsync off: the round trips and the server's work, not the disk). PostgreSQL's
 * figure is printed with its ratio to SQLite's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openPgStore } from '../server/store/pg-store.js';
import { openSqliteStore } from '../server/store/sqlite-store.js';
import type { Store } from '../server/store/store.js';
import { startPgCluster } from '../server/store/test-support/pg-cluster.js';
import { identity } from '../server/store/testing.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 4000);

/** Registers DEVICES devices; the wall time in ms. */
async function registrations(store: Store): Promise<number> {
  const now = Date.now();
  const user = await store.createUser({ name: 'bench' }, now);
  const started = performance.now();
  for (let i = 0; i < DEVICES; i++)
    await store.registerDevice({ ...identity(`d${i}`), userId: user.id }, now);
  const ms = performance.now() - started;
  await store.close();
  return ms;
}

const dir = mkdtempSync(join(tmpdir(), 'burrow-bench-store-'));
const cluster = await startPgCluster();
try {
  await cluster.psql('CREATE DATABASE bench');
  const sqlite = await registrations(openSqliteStore({ path: join(dir, 'burrow.db') }));
  const postgres = await registrations(
    await openPgStore({ connection: { host: cluster.dir, user: cluster.user, database: 'bench' } }),
  );
  const per = (ms: number) => `${((ms / DEVICES) * 1000).toFixed(0)} µs each`;
  console.log(`${DEVICES} registrations, one transaction each:`);
  console.log(`  sqlite    ${(sqlite / 1000).toFixed(2)} s (${per(sqlite)})`);
  console.log(
    `  postgres  ${(postgres / 1000).toFixed(2)} s (${per(postgres)}), ${(postgres / sqlite).toFixed(1)}x sqlite's`,
  );
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
