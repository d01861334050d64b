import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { AddonError, packagedDir, requireAddon } from '../../../src/packaged.js';
import { StoreError } from '../errors.js';

/** SQLite values better-sqlite3 binds; booleans are not among them (pass 0/1). */
export type SqlValue = string | number | bigint | null;
type Params = SqlValue[] | [Record<string, SqlValue>];

let packagedSqlite: object | undefined;

/**
 * better-sqlite3's addon for a packaged burrow-server: better_sqlite3.node beside the executable,
 * loaded here because the bundled better-sqlite3 cannot find it (src/packaged.ts). From a checkout,
 * undefined: better-sqlite3 finds its own build.
 */
function sqliteAddon(): object | undefined {
  const dir = packagedDir();
  if (dir === undefined) return undefined;
  if (packagedSqlite) return packagedSqlite;
  const file = join(dir, 'better_sqlite3.node');
  if (!existsSync(file))
    throw new AddonError(`better-sqlite3's addon is missing (no ${file}): it ships beside the executable`);
  packagedSqlite = requireAddon(file) as object;
  return packagedSqlite;
}

/**
 * Opens (creating if needed) the database file, readable by its owner only: it holds password and
 * key hashes and the whole network's layout. SQLite creates the -wal and -shm files with the main
 * file's mode, so they are covered too.
 */
export function openDatabase(path: string): Database.Database {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const nativeBinding = sqliteAddon();
  // better-sqlite3 takes the loaded addon as nativeBinding too; its types know only a path.
  const db = new Database(
    path,
    nativeBinding === undefined ? {} : { nativeBinding: nativeBinding as unknown as string },
  );
  // WAL: readers do not block the writer. synchronous=NORMAL is WAL's recommended pairing: a commit
  // survives a process crash and the file never corrupts; a power cut may lose the last commits,
  // which devices recover from by re-registering and the change feed by answering "full map".
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Another connection (a backup, the sqlite3 shell) may hold the write lock for a moment.
  db.pragma('busy_timeout = 5000');
  return db;
}

/** The connection with cached prepared statements and the one way to write. */
export class Sql {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly txn: Database.Transaction<(fn: () => unknown) => unknown>;
  private savepoints = 0;

  constructor(readonly db: Database.Database) {
    this.txn = db.transaction((fn: () => unknown) => fn());
  }

  get<T>(sql: string, ...params: Params): T | undefined {
    return this.statement(sql).get(...params) as T | undefined;
  }

  all<T>(sql: string, ...params: Params): T[] {
    return this.statement(sql).all(...params) as T[];
  }

  run(sql: string, ...params: Params): number {
    return this.statement(sql).run(...params).changes;
  }

  /**
   * Runs `fn` in a transaction (a savepoint when nested in one), translating unique-constraint
   * failures into StoreErrors. IMMEDIATE takes the write lock up front, so two connections can
   * never both read and then deadlock trying to upgrade to write.
   */
  write<T>(fn: () => T): T {
    try {
      return this.txn.immediate(fn) as T;
    } catch (err) {
      throw translate(err);
    }
  }

  /**
   * Runs an async `fn` as one transaction on this connection: BEGIN IMMEDIATE before it, COMMIT
   * after it, ROLLBACK if it throws. Nested in another (the caller's own async context is inside
   * one), a savepoint. The caller (SqliteStore) keeps every other caller off the connection
   * meanwhile: the connection has one transaction, and whoever wrote now would join it.
   */
  async writeAsync<T>(fn: () => Promise<T>, nested: boolean): Promise<T> {
    const name = `s${++this.savepoints}`;
    this.db.exec(nested ? `SAVEPOINT ${name}` : 'BEGIN IMMEDIATE');
    try {
      const result = await fn();
      this.db.exec(nested ? `RELEASE ${name}` : 'COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec(nested ? `ROLLBACK TO ${name}; RELEASE ${name}` : 'ROLLBACK');
      throw translate(err);
    } finally {
      this.savepoints--;
    }
  }

  meta(key: string): number | undefined {
    return this.get<{ value: number }>('SELECT value FROM meta WHERE key = ?', key)?.value;
  }

  setMeta(key: string, value: number): void {
    this.run(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      key,
      value,
    );
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}

/** Which unique columns mean which error; anything else unique (a random id colliding) is a bug. */
const UNIQUE_CODES: Record<string, 'duplicate-name' | 'duplicate-key'> = {
  'networks.name': 'duplicate-name',
  'users.name': 'duplicate-name',
  'devices.network_id, devices.name': 'duplicate-name',
  'devices.machine_key': 'duplicate-key',
  'devices.node_key': 'duplicate-key',
};

function translate(err: unknown): unknown {
  if (!(err instanceof Database.SqliteError) || err.code !== 'SQLITE_CONSTRAINT_UNIQUE') return err;
  const columns = err.message.replace(/^UNIQUE constraint failed: /, '');
  const code = UNIQUE_CODES[columns];
  return code ? new StoreError(code, `already taken: ${columns}`) : err;
}

export const bool = (b: boolean): number => (b ? 1 : 0);
export const json = (list: readonly string[]): string => JSON.stringify(list);
export const list = (text: string): string[] => JSON.parse(text) as string[];
