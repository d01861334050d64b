import type pg from 'pg';
import { StoreError } from '../errors.js';

/**
 * The PostgreSQL schema as numbered migrations, the same versions as SQLite's (../migrations.ts)
 * so that a database moved between them is at the same version. Released migrations are never
 * edited. Types follow SQLite's rows: times are Unix ms in BIGINT, booleans 0/1, lists JSON in TEXT;
 * names compare without case (citext), as SQLite's COLLATE NOCASE.
 */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
  /** Data changes that need the time of the migration, run after `sql` in the same transaction. */
  data?: (client: pg.PoolClient, now: number) => Promise<void>;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE EXTENSION IF NOT EXISTS citext;

      -- Small server-wide counters: the IPv4 allocation cursor, the change-feed seq and prune horizon.
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BIGINT NOT NULL
      );
      -- The change feed's seq: taken under this row's lock, so seq order is commit order.
      INSERT INTO meta (key, value) VALUES ('changes_seq', 0);

      CREATE TABLE networks (
        id TEXT PRIMARY KEY,
        name CITEXT NOT NULL UNIQUE,
        ula TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      );

      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name CITEXT NOT NULL UNIQUE,
        network_id TEXT NOT NULL REFERENCES networks (id),
        password_hash TEXT,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX users_by_network ON users (network_id);

      CREATE TABLE auth_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        reusable INTEGER NOT NULL,
        ephemeral INTEGER NOT NULL,
        tags TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT,
        revoked_at BIGINT
      );
      CREATE INDEX auth_keys_by_user ON auth_keys (user_id);

      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        network_id TEXT NOT NULL REFERENCES networks (id),
        user_id TEXT NOT NULL REFERENCES users (id),
        name TEXT NOT NULL,
        name_base TEXT NOT NULL,
        name_suffix INTEGER NOT NULL,
        machine_key TEXT NOT NULL UNIQUE,
        node_key TEXT NOT NULL UNIQUE,
        disco_key TEXT NOT NULL,
        ipv4 BIGINT NOT NULL UNIQUE,
        ipv6 TEXT NOT NULL UNIQUE,
        tags TEXT NOT NULL,
        ephemeral INTEGER NOT NULL,
        key_expiry BIGINT,
        last_seen BIGINT,
        online INTEGER NOT NULL,
        endpoints TEXT NOT NULL,
        advertised_routes TEXT NOT NULL,
        approved_routes TEXT NOT NULL,
        advertises_exit_node INTEGER NOT NULL,
        exit_node_approved INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        UNIQUE (network_id, name)
      );
      CREATE INDEX devices_by_name_base ON devices (network_id, name_base, name_suffix);
      CREATE INDEX devices_by_user ON devices (user_id);

      CREATE TABLE invites (
        id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        owner_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        recipient_user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
        prefix TEXT NOT NULL,
        code_hash TEXT NOT NULL UNIQUE,
        multi_use INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'revoked')),
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX invites_by_owner ON invites (owner_user_id);
      CREATE INDEX invites_by_recipient ON invites (recipient_user_id);
      CREATE INDEX invites_by_device ON invites (device_id);

      CREATE TABLE shares (
        id TEXT PRIMARY KEY,
        invite_id TEXT NOT NULL REFERENCES invites (id) ON DELETE CASCADE,
        device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        recipient_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        UNIQUE (recipient_user_id, device_id)
      );
      CREATE INDEX shares_by_device ON shares (device_id);
      CREATE INDEX shares_by_invite ON shares (invite_id);

      CREATE TABLE policies (
        network_id TEXT PRIMARY KEY REFERENCES networks (id),
        text TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );

      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        last_used_at BIGINT
      );

      CREATE TABLE login_sessions (
        id TEXT PRIMARY KEY,
        machine_key TEXT NOT NULL,
        node_key TEXT NOT NULL,
        disco_key TEXT NOT NULL,
        hostname TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
        completed_device_id TEXT REFERENCES devices (id) ON DELETE SET NULL
      );
      CREATE INDEX login_sessions_by_expiry ON login_sessions (expires_at);

      -- seq comes from meta's changes_seq, never reused even after pruning.
      -- device_id has no foreign key: a removal record outlives its device.
      CREATE TABLE changes (
        seq BIGINT PRIMARY KEY,
        network_id TEXT NOT NULL REFERENCES networks (id),
        kind TEXT NOT NULL,
        device_id TEXT,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX changes_by_network ON changes (network_id, seq);
      CREATE INDEX changes_by_time ON changes (created_at);
    `,
  },
  {
    version: 2,
    name: 'device home relay',
    sql: 'ALTER TABLE devices ADD COLUMN home_relay INTEGER CHECK (home_relay BETWEEN 1 AND 65535);',
  },
  {
    version: 3,
    name: 'login session origin',
    sql: "ALTER TABLE login_sessions ADD COLUMN requested_from TEXT NOT NULL DEFAULT '';",
  },
  {
    version: 4,
    name: 'api keys per network',
    sql: 'ALTER TABLE api_keys ADD COLUMN network_id TEXT REFERENCES networks (id);',
    data: async (client, now) => {
      const latest = now + 90 * 86_400_000;
      await client.query('UPDATE api_keys SET expires_at = LEAST(coalesce(expires_at, $1), $1)', [latest]);
    },
  },
  {
    version: 5,
    name: 'network dns settings',
    sql: `
      CREATE TABLE network_dns (
        network_id TEXT PRIMARY KEY REFERENCES networks (id),
        nameservers TEXT NOT NULL,
        routes TEXT NOT NULL,
        search_domains TEXT NOT NULL,
        override INTEGER NOT NULL CHECK (override IN (0, 1)),
        updated_at BIGINT NOT NULL
      );
    `,
  },
];

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
      await m.data?.(client, now);
      await client.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        now,
      ]);
    }
    await client.query('COMMIT');
    return Math.max(current, latest);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.removeListener('error', lost);
    client.release(broken);
  }
}
