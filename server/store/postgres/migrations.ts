import type pg from 'pg';
import { StoreError } from '../errors.js';
import { type Migration, migrationsFor, POSTGRES_DIALECT } from '../schema.js';

/** The schema (../schema.ts) in PostgreSQL's dialect. */
export const PG_MIGRATIONS: readonly Migration[] = migrationsFor(POSTGRES_DIALECT);

/** Any fixed number: instances starting together take turns migrating under this advisory lock. */
const MIGRATION_LOCK = 0x6275_7272;

/** Brings the database up to the last of `migrations`, in one transaction; returns its version. */
export async function migratePg(pool: pg.Pool, now: number, migrations = PG_MIGRATIONS): Promise<number> {
  const client = await pool.connect();
  // A connection lost while checked out emits 'error' on the client, which nothing else hears.
  let broken = false;
  const lost = () => {
    broken = true;
  };
  client.on('error', lost);
  try {
    await client.query('BEGIN');
    const version = await migrateInTransaction(client, now, migrations);
    await client.query('COMMIT');
    return version;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.removeListener('error', lost);
    client.release(broken);
  }
}

/**
 * The migrations on `client`, inside the transaction the caller opened and will end (burrow-server
 * migrate makes the schema and copies the data in one). Returns the version.
 */
export async function migrateInTransaction(
  client: pg.ClientBase,
  now: number,
  migrations = PG_MIGRATIONS,
): Promise<number> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
  )`);
  const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
  const current = rows[0]?.v ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new StoreError(
      'schema-too-new',
      `database schema is version ${current}; this burrow-server knows up to ${latest}`,
    );
  }
  for (const [i, m] of migrations.entries()) {
    if (m.version !== i + 1) throw new Error(`migration ${m.version} is out of order`);
    if (m.version <= current) continue;
    await client.query(m.sql);
    if (m.data) await client.query(m.data(now));
    await client.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [
      m.version,
      m.name,
      now,
    ]);
  }
  return Math.max(current, latest);
}
