import type Database from 'better-sqlite3';
import { StoreError } from './errors.js';
import { type Migration, migrationsFor, SQLITE_DIALECT } from './schema.js';

export type { Migration } from './schema.js';

/** The schema (schema.ts) in SQLite's dialect. */
export const SQLITE_MIGRATIONS: readonly Migration[] = migrationsFor(SQLITE_DIALECT);

/**
 * Brings the database up to the last of `migrations`; returns the version it is at. Each runs in its
 * own transaction together with the row that records it, so a crash or a failing statement leaves
 * the database at the previous version.
 */
export function migrate(db: Database.Database, now: number, migrations = SQLITE_MIGRATIONS): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const current =
    (db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new StoreError(
      'schema-too-new',
      `database schema is version ${current}; this burrow-server knows up to ${latest}`,
    );
  }
  const record = db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)');
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.version} is out of order`);
    if (m.version <= current) return;
    db.transaction(() => {
      db.exec(m.sql);
      if (m.data) db.exec(m.data(now));
      record.run(m.version, m.name, now);
    }).immediate();
  });
  return Math.max(current, latest);
}
