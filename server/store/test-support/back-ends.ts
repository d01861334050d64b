import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { openPgStore } from '../pg-store.js';
import { openPool } from '../postgres/db.js';
import { openSqliteStore } from '../sqlite-store.js';
import type { Store } from '../store.js';
import { T0 } from '../testing.js';
import { type PgCluster, startPgCluster } from './pg-cluster.js';

/**
 * The back ends the store conformance suite (this directory) runs against: every test in it runs
 * once per back end, through this small factory, and must pass on each.
 */

/** What a test may choose about the store, whichever the back end. */
export interface StoreTestOptions {
  /** Where device IPv4 addresses come from. Default 100.64.0.0/10. */
  ipv4Pool?: string;
}

/** One empty database of a back end, made for one test and removed after it. */
export interface TestDatabase {
  /** Opens a Store on it (again after a close, as a restarted server would), schema up to date. */
  open(options: StoreTestOptions): Promise<Store>;
  /** Every row of every table, tables by name and rows in a stable order: what a failed write must leave as it was. */
  snapshot(): Promise<Record<string, unknown[]>>;
  /** Makes the database itself refuse every insert into the change feed, or stop refusing. */
  failChangeInserts(on: boolean): Promise<void>;
  /**
   * Runs SQL on the database directly, outside the store, on a connection of the test's own: to
   * read what the store kept, or to make states no store call makes. Placeholders are `?`.
   */
  sql<T>(text: string, ...params: (string | number | null)[]): Promise<T[]>;
  remove(): Promise<void>;
}

export interface BackEnd {
  readonly name: string;
  create(): Promise<TestDatabase>;
  /** Stops whatever the back end started for the test file (a database cluster); after its last test. */
  dispose?(): Promise<void>;
}

/** SQLite: a file in a temp directory, as burrow-server keeps it. */
export const SQLITE: BackEnd = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-store-'));
    const path = join(dir, 'data', 'burrow.db');
    const raw = <T>(work: (db: Database.Database) => T): T => {
      const db = new Database(path);
      try {
        return work(db);
      } finally {
        db.close();
      }
    };
    return {
      async open(options) {
        return openSqliteStore({ path, now: T0, ...options });
      },
      async snapshot() {
        return raw((db) => {
          const tables = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .pluck()
            .all() as string[];
          return Object.fromEntries(
            tables.map((name) => [name, db.prepare(`SELECT * FROM "${name}" ORDER BY 1`).all()]),
          );
        });
      },
      async failChangeInserts(on) {
        raw((db) =>
          db.exec(
            on
              ? "CREATE TRIGGER fail_changes BEFORE INSERT ON changes BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
              : 'DROP TRIGGER fail_changes',
          ),
        );
      },
      async sql<T>(text: string, ...params: (string | number | null)[]) {
        return raw((db) => {
          const statement = db.prepare(text);
          if (statement.reader) return statement.all(...params) as T[];
          statement.run(...params);
          return [];
        });
      },
      async remove() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/** One throwaway cluster per test file, started by its first test; a fresh database per test. */
let cluster: Promise<PgCluster> | null = null;
let databases = 0;

/** PostgreSQL: a database of its own in a throwaway cluster (pg-cluster.ts), reached on its unix socket. */
export const POSTGRES: BackEnd = {
  name: 'postgres',
  async create() {
    cluster ??= startPgCluster();
    const pg = await cluster;
    const database = `t${process.pid}_${++databases}`;
    await pg.psql(`CREATE DATABASE ${database}`);
    const connection = { host: pg.dir, user: pg.user, database };
    const raw = async <T>(text: string, params: unknown[] = []): Promise<T[]> => {
      const pool = openPool({ ...connection, max: 1 });
      try {
        let n = 0;
        return (
          await pool.query(
            text.replace(/\?/g, () => `$${++n}`),
            params,
          )
        ).rows as T[];
      } finally {
        await pool.end();
      }
    };
    return {
      async open(options) {
        return openPgStore({ connection, now: T0, ...options });
      },
      async snapshot() {
        const tables = await raw<{ name: string }>(
          "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
        );
        const entries = [];
        for (const { name } of tables) entries.push([name, await raw(`SELECT * FROM "${name}" ORDER BY 1`)]);
        return Object.fromEntries(entries);
      },
      async failChangeInserts(on) {
        await raw(
          on
            ? `CREATE FUNCTION fail_changes() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
               CREATE TRIGGER fail_changes BEFORE INSERT ON changes FOR EACH ROW EXECUTE FUNCTION fail_changes()`
            : 'DROP TRIGGER fail_changes ON changes; DROP FUNCTION fail_changes()',
        );
      },
      async sql<T>(text: string, ...params: (string | number | null)[]) {
        return raw<T>(text, params);
      },
      async remove() {
        await pg.psql(`DROP DATABASE ${database} WITH (FORCE)`);
      },
    };
  },
  async dispose() {
    const started = cluster;
    cluster = null;
    if (started) await (await started).stop();
  },
};

export const BACK_ENDS: readonly BackEnd[] = [SQLITE, POSTGRES];

export interface TempBackEndStore {
  store: Store;
  db: TestDatabase;
  /** Closes the store and opens the same database again, as a restarted server would. */
  reopen(): Promise<Store>;
}

/** A fresh database of `backEnd` and a store on it for each test, removed after it. */
export function withBackEnd(backEnd: BackEnd, options: StoreTestOptions = {}): TempBackEndStore {
  const t = {} as TempBackEndStore;
  beforeEach(async () => {
    t.db = await backEnd.create();
    t.store = await t.db.open(options);
  });
  afterEach(async () => {
    await t.store.close();
    await t.db.remove();
  });
  afterAll(async () => {
    await backEnd.dispose?.();
  });
  t.reopen = async () => {
    await t.store.close();
    t.store = await t.db.open(options);
    return t.store;
  };
  return t;
}
