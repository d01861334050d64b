import { DEFAULT_IPV4_POOL, parseIpv4Pool } from './addresses.js';
import { migrate } from './migrations.js';
import { SqlStore } from './sql-store.js';
import { openDatabase, SqliteSql } from './sqlite/db.js';

export interface SqliteStoreOptions {
  /** The database file, created (mode 0600, directory 0700) if missing. */
  path: string;
  /** Where device IPv4 addresses come from, server-wide. Default 100.64.0.0/10. */
  ipv4Pool?: string;
  /** Stamps the schema_version rows of migrations run now. Default Date.now(). */
  now?: number;
}

/** The Store on one better-sqlite3 connection (sqlite/db.ts). */
export type SqliteStore = SqlStore;

/** Opens the file, brings its schema up to date, and returns the Store over it. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const pool = parseIpv4Pool(options.ipv4Pool ?? DEFAULT_IPV4_POOL);
  const db = openDatabase(options.path);
  try {
    migrate(db, options.now ?? Date.now());
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqlStore(new SqliteSql(db), pool);
}
