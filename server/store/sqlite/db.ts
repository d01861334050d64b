import { AsyncLocalStorage } from 'node:async_hooks';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { AddonError, packagedDir, requireAddon } from '../../../src/packaged.js';
import { StoreError } from '../errors.js';
import { type Params, Sql } from '../sql.js';

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

/**
 * The connection in the queries' async shape (../sql.ts). better-sqlite3 is synchronous, and the
 * connection has one transaction: while a write is open, the queries of everyone outside it wait
 * for it to end, so they neither join it nor see it half done; its own queries (made in its async
 * context) run at once, and writes nested in it become savepoints.
 */
export class SqliteSql extends Sql {
  private readonly statements = new Map<string, Database.Statement>();
  /** The async context of the open write, and how deep its savepoints go. */
  private readonly inside = new AsyncLocalStorage<{ savepoints: number }>();
  /** Settles when the open write ends; null while none is open. */
  private open: Promise<void> | null = null;

  constructor(readonly db: Database.Database) {
    super();
  }

  get<T>(sql: string, ...params: Params): Promise<T | undefined> {
    return this.when(() => this.statement(sql).get(...bind(params)) as T | undefined);
  }

  all<T>(sql: string, ...params: Params): Promise<T[]> {
    return this.when(() => this.statement(sql).all(...bind(params)) as T[]);
  }

  run(sql: string, ...params: Params): Promise<number> {
    return this.when(() => this.statement(sql).run(...bind(params)).changes);
  }

  async appendChanges(networkIds: readonly string[], kind: string, deviceId: string | null, now: number) {
    const { value: last } = (await this.get<{ value: number }>(
      "UPDATE meta SET value = value + ? WHERE key = 'changes_seq' RETURNING value",
      networkIds.length,
    )) as { value: number };
    const insert =
      'INSERT INTO changes (seq, network_id, kind, device_id, created_at) VALUES (?, ?, ?, ?, ?)';
    for (const [i, networkId] of networkIds.entries())
      await this.run(insert, last - networkIds.length + 1 + i, networkId, kind, deviceId, now);
  }

  inList(column: string, values: readonly string[]) {
    return { condition: `${column} IN (SELECT value FROM json_each(?))`, param: JSON.stringify(values) };
  }

  /**
   * BEGIN IMMEDIATE takes the write lock up front, so two connections (a backup, the sqlite3 shell)
   * can never both read and then deadlock trying to upgrade to write.
   */
  async write<T>(fn: () => Promise<T>): Promise<T> {
    const outer = this.inside.getStore();
    if (outer) return this.savepoint(outer, fn);
    while (this.open !== null) await this.open;
    let end!: () => void;
    this.open = new Promise((resolve) => {
      end = resolve;
    });
    try {
      return await this.inside.run({ savepoints: 0 }, async () => {
        this.db.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn();
          this.db.exec('COMMIT');
          return result;
        } catch (err) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          throw translate(err);
        }
      });
    } finally {
      this.open = null;
      end();
    }
  }

  async close(): Promise<void> {
    while (this.open !== null) await this.open;
    this.db.close();
  }

  private async savepoint<T>(open: { savepoints: number }, fn: () => Promise<T>): Promise<T> {
    const name = `s${++open.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      this.db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw translate(err);
    } finally {
      open.savepoints--;
    }
  }

  /** Runs `query` at once, unless someone else's write is open: then after it. */
  private when<T>(query: () => T): Promise<T> {
    if (this.open !== null && !this.inside.getStore()) return this.open.then(() => this.when(query));
    try {
      return Promise.resolve(query());
    } catch (err) {
      return Promise.reject(translate(err));
    }
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

/** better-sqlite3 binds no lists: the queries pass one only through inList, as JSON text. */
const bind = (params: Params) => params as (string | number | bigint | null)[];

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
