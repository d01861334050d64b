import type pg from 'pg';
import { DEFAULT_IPV4_POOL, parseIpv4Pool } from './addresses.js';
import { openPool, PgSql, unreachable } from './postgres/db.js';
import { migratePg } from './postgres/migrations.js';
import { SqlStore } from './sql-store.js';

export interface PgStoreOptions {
  /** A postgres:// URL, or libpq's fields (a unix socket directory as host). */
  connection: string | pg.PoolConfig;
  /** Where device IPv4 addresses come from, server-wide. Default 100.64.0.0/10. */
  ipv4Pool?: string;
  /** Stamps the schema_version rows of migrations run now. Default Date.now(). */
  now?: number;
}

/**
 * The Store on a pool of PostgreSQL connections. Several instances may share one database: every
 * write is SERIALIZABLE, taken in turns under an advisory lock, and retried when it loses a race
 * (postgres/db.ts).
 */
export type PgStore = SqlStore;

/** Connects, brings the schema up to date, and returns the Store over the pool. */
export async function openPgStore(options: PgStoreOptions): Promise<PgStore> {
  const pool = parseIpv4Pool(options.ipv4Pool ?? DEFAULT_IPV4_POOL);
  const connection = options.connection;
  const db = openPool(typeof connection === 'string' ? { connectionString: connection } : connection);
  try {
    await migratePg(db, options.now ?? Date.now());
  } catch (err) {
    await db.end();
    throw unreachable(err) ?? err;
  }
  return new SqlStore(new PgSql(db), pool);
}
