import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach } from 'vitest';
import { openSqliteStore } from '../sqlite-store.js';
import type { Store } from '../store.js';
import { T0 } from '../testing.js';

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

export const BACK_ENDS: readonly BackEnd[] = [SQLITE];

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
  t.reopen = async () => {
    await t.store.close();
    t.store = await t.db.open(options);
    return t.store;
  };
  return t;
}
