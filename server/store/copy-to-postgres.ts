import { existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { openPool } from './postgres/db.js';
import { migrateInTransaction } from './postgres/migrations.js';
import { openDatabase } from './sqlite/db.js';
import { openSqliteStore } from './sqlite-store.js';

/** Why a copy was refused or undone; the target is as it was. */
export class CopyError extends Error {
  override readonly name = 'CopyError';
}

export interface CopyOptions {
  /** The SQLite file. */
  from: string;
  /** The PostgreSQL database: a postgres:// URL, or libpq's fields. */
  to: string | pg.PoolConfig;
  /** Replace whatever the target holds; without it, a target holding any data is refused. */
  overwrite?: boolean;
  /** Stamps the schema_version rows of migrations run now. Default Date.now(). */
  now?: number;
}

/** How many rows a table held in the source, and holds in the target after the copy. */
export interface TableCount {
  table: string;
  source: number;
  target: number;
}

/** Rows per INSERT: PostgreSQL takes at most 65,535 parameters in one statement. */
const BATCH = 500;

/** Kept by each database for itself, not copied: the schema version is the same on both after the copy. */
const NOT_COPIED = new Set(['schema_version', 'sqlite_sequence']);

/**
 * Copies every table of a SQLite database into a PostgreSQL one, ids, seqs and counters as they
 * are: meta holds the IPv4 cursor, the change feed's last seq and its prune horizon, so devices
 * asking for "changes since N" and the next address carry on where they were. The target's schema
 * is made (or brought up to date), checked empty, filled and its row counts checked against the
 * source's, all in one transaction: a failure anywhere leaves it as it was. The source is first
 * brought up to this burrow-server's schema, as `serve` would, then read in one read transaction
 * (a consistent snapshot; stop the server first all the same, or what it writes later is not
 * copied).
 */
export async function copySqliteToPostgres(options: CopyOptions): Promise<TableCount[]> {
  if (!existsSync(options.from)) throw new CopyError(`${options.from}: no such SQLite database`);
  const now = options.now ?? Date.now();
  await openSqliteStore({ path: options.from, now }).close();
  const source = openDatabase(options.from);
  const pool = openPool({
    ...(typeof options.to === 'string' ? { connectionString: options.to } : options.to),
    max: 1,
  });
  try {
    source.exec('BEGIN');
    const tables = tablesInOrder(source);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const counts = await copy(source, client, tables, options.overwrite ?? false, now);
      await client.query('COMMIT');
      return counts;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  } finally {
    if (source.inTransaction) source.exec('COMMIT');
    source.close();
    await pool.end();
  }
}

async function copy(
  source: Database.Database,
  target: pg.PoolClient,
  tables: string[],
  overwrite: boolean,
  now: number,
): Promise<TableCount[]> {
  await migrateInTransaction(target, now);
  const sourceVersion = (
    source.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number }
  ).v;
  const targetVersion = Number(
    (await target.query<{ v: number }>('SELECT max(version) AS v FROM schema_version')).rows[0]?.v,
  );
  if (sourceVersion !== targetVersion)
    throw new CopyError(`schema versions differ: SQLite ${sourceVersion}, PostgreSQL ${targetVersion}`);
  const targetTables = (
    await target.query<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_version'",
    )
  ).rows.map((r) => r.name);
  const missing = tables.filter((t) => !targetTables.includes(t));
  const extra = targetTables.filter((t) => !tables.includes(t));
  if (missing.length || extra.length)
    throw new CopyError(
      `the databases' tables differ (only in SQLite: ${missing}; only in PostgreSQL: ${extra})`,
    );
  // No instance may write while the copy runs (they wait, then see it whole).
  await target.query(`LOCK TABLE ${tables.map(quote).join(', ')} IN ACCESS EXCLUSIVE MODE`);
  const held = await holding(target, tables);
  if (held.length && !overwrite)
    throw new CopyError(
      `the PostgreSQL database already holds data (${held.join(', ')}): migrate copies into an empty ` +
        'database only; --overwrite replaces what it holds',
    );
  // Empty, or to be replaced: either way nothing of it stays (a new database's meta has its seq row).
  await target.query(`TRUNCATE ${tables.map(quote).join(', ')}`);
  const counts: TableCount[] = [];
  for (const table of tables) {
    const columns = (
      source.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]
    ).map((c) => c.name);
    await checkColumns(target, table, columns);
    const rows = source.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)}`).raw();
    let batch: unknown[][] = [];
    for (const row of rows.iterate() as IterableIterator<unknown[]>) {
      batch.push(row);
      if (batch.length === BATCH) {
        await insert(target, table, columns, batch);
        batch = [];
      }
    }
    if (batch.length) await insert(target, table, columns, batch);
    const sourceRows = (source.prepare(`SELECT count(*) AS n FROM ${quote(table)}`).get() as { n: number }).n;
    counts.push({ table, source: sourceRows, target: await count(target, table) });
  }
  const wrong = counts.filter((c) => c.source !== c.target);
  if (wrong.length)
    throw new CopyError(
      `row counts differ after the copy, so nothing was kept: ${wrong.map((c) => `${c.table} ${c.source} in SQLite, ${c.target} in PostgreSQL`).join('; ')}`,
    );
  return counts;
}

/** The tables to copy, each after those its foreign keys point to. */
function tablesInOrder(db: Database.Database): string[] {
  const names = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  )
    .map((r) => r.name)
    .filter((n) => !NOT_COPIED.has(n));
  const refs = new Map(
    names.map((n) => [
      n,
      (db.prepare('SELECT "table" AS t FROM pragma_foreign_key_list(?)').all(n) as { t: string }[])
        .map((r) => r.t)
        .filter((t) => t !== n),
    ]),
  );
  const ordered: string[] = [];
  const visit = (n: string, path: string[]) => {
    if (ordered.includes(n)) return;
    if (path.includes(n))
      throw new CopyError(`foreign keys go round in a circle: ${[...path, n].join(' -> ')}`);
    for (const t of refs.get(n) ?? []) visit(t, [...path, n]);
    ordered.push(n);
  };
  for (const n of names) visit(n, []);
  return ordered;
}

/** The tables of the target that hold data, with their counts (a new database's seq row is not data). */
async function holding(target: pg.PoolClient, tables: string[]): Promise<string[]> {
  const held: string[] = [];
  for (const table of tables) {
    const n =
      table === 'meta'
        ? Number(
            (
              await target.query<{ n: string }>(
                "SELECT count(*) AS n FROM meta WHERE NOT (key = 'changes_seq' AND value = 0)",
              )
            ).rows[0]?.n,
          )
        : await count(target, table);
    if (n > 0) held.push(`${table}: ${n}`);
  }
  return held;
}

async function count(target: pg.PoolClient, table: string): Promise<number> {
  return Number((await target.query<{ n: string }>(`SELECT count(*) AS n FROM ${quote(table)}`)).rows[0]?.n);
}

async function checkColumns(target: pg.PoolClient, table: string, columns: string[]): Promise<void> {
  const theirs = (
    await target.query<{ name: string }>(
      'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
      [table],
    )
  ).rows.map((r) => r.name);
  const missing = columns.filter((c) => !theirs.includes(c));
  const extra = theirs.filter((c) => !columns.includes(c));
  if (missing.length || extra.length)
    throw new CopyError(
      `${table}: the columns differ (only in SQLite: ${missing}; only in PostgreSQL: ${extra})`,
    );
}

async function insert(
  target: pg.PoolClient,
  table: string,
  columns: string[],
  rows: unknown[][],
): Promise<void> {
  const values: unknown[] = [];
  const tuples = rows.map((row) => {
    const slots = row.map((value) => {
      values.push(value);
      return `$${values.length}`;
    });
    return `(${slots.join(', ')})`;
  });
  await target.query(
    `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES ${tuples.join(', ')}`,
    values,
  );
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
