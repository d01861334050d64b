import type Database from 'better-sqlite3';
import { StoreError } from './errors.js';

/**
 * The SQLite schema as numbered migrations. A migration, once released, is never edited: a change
 * is a new migration at the end. Each runs in its own transaction together with the row that
 * records it, so a crash or a failing statement leaves the database at the previous version.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Data changes that need the time of the migration: run after `sql`, in the same transaction. */
  data?: (db: Database.Database, now: number) => void;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    // Times are Unix ms. Booleans are 0/1. Lists are JSON arrays in TEXT.
    sql: `
      -- Small server-wide counters: the IPv4 allocation cursor, the change-feed prune horizon.
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE networks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        ula TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        network_id TEXT NOT NULL REFERENCES networks (id),
        password_hash TEXT,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX users_by_network ON users (network_id);

      CREATE TABLE auth_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        reusable INTEGER NOT NULL,
        ephemeral INTEGER NOT NULL,
        tags TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX auth_keys_by_user ON auth_keys (user_id);

      -- name = name_base, or name_base-name_suffix: the split lets a new "host" find its suffix
      -- with one index lookup however many hosts share the name.
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
        ipv4 INTEGER NOT NULL UNIQUE,
        ipv6 TEXT NOT NULL UNIQUE,
        tags TEXT NOT NULL,
        ephemeral INTEGER NOT NULL,
        key_expiry INTEGER,
        last_seen INTEGER,
        online INTEGER NOT NULL,
        endpoints TEXT NOT NULL,
        advertised_routes TEXT NOT NULL,
        approved_routes TEXT NOT NULL,
        advertises_exit_node INTEGER NOT NULL,
        exit_node_approved INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (network_id, name)
      ) STRICT;
      CREATE INDEX devices_by_name_base ON devices (network_id, name_base, name_suffix);
      CREATE INDEX devices_by_user ON devices (user_id);

      -- state 'expired' is derived from expires_at when read, never stored.
      CREATE TABLE invites (
        id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        owner_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        recipient_user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
        prefix TEXT NOT NULL,
        code_hash TEXT NOT NULL UNIQUE,
        multi_use INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'revoked')),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX invites_by_owner ON invites (owner_user_id);
      CREATE INDEX invites_by_recipient ON invites (recipient_user_id);
      CREATE INDEX invites_by_device ON invites (device_id);

      CREATE TABLE shares (
        id TEXT PRIMARY KEY,
        invite_id TEXT NOT NULL REFERENCES invites (id) ON DELETE CASCADE,
        device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        recipient_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        UNIQUE (recipient_user_id, device_id)
      ) STRICT;
      CREATE INDEX shares_by_device ON shares (device_id);
      CREATE INDEX shares_by_invite ON shares (invite_id);

      CREATE TABLE policies (
        network_id TEXT PRIMARY KEY REFERENCES networks (id),
        text TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER
      ) STRICT;

      CREATE TABLE login_sessions (
        id TEXT PRIMARY KEY,
        machine_key TEXT NOT NULL,
        node_key TEXT NOT NULL,
        disco_key TEXT NOT NULL,
        hostname TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
        completed_device_id TEXT REFERENCES devices (id) ON DELETE SET NULL
      ) STRICT;
      CREATE INDEX login_sessions_by_expiry ON login_sessions (expires_at);

      -- AUTOINCREMENT: a seq is never handed out twice, even after the newest rows are pruned.
      -- device_id has no foreign key: a removal record outlives its device.
      CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        network_id TEXT NOT NULL REFERENCES networks (id),
        kind TEXT NOT NULL,
        device_id TEXT,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX changes_by_network ON changes (network_id, seq);
      CREATE INDEX changes_by_time ON changes (created_at);
    `,
  },
  {
    version: 2,
    name: 'device home relay',
    // The relay region a device reports as its home (lowest latency); NULL while it reports none.
    sql: `
      ALTER TABLE devices ADD COLUMN home_relay INTEGER CHECK (home_relay BETWEEN 1 AND 65535);
    `,
  },
  {
    version: 3,
    name: 'login session origin',
    // Where the request for a login link came from, shown on the sign-in page so that whoever
    // opens a link someone else sent them can see it was not their own `burrow up`.
    sql: `
      ALTER TABLE login_sessions ADD COLUMN requested_from TEXT NOT NULL DEFAULT '';
    `,
  },
  {
    version: 4,
    name: 'api keys per network',
    // A key now belongs to one network and always expires. Keys made before were global and could
    // be made never to expire: they keep every network (network_id NULL, which only they have) but
    // expire at the latest 90 days after this migration, so a forgotten one stops working by itself
    // and the admin replaces it with keys for one network each.
    sql: `
      ALTER TABLE api_keys ADD COLUMN network_id TEXT REFERENCES networks (id);
    `,
    data: (db, now) => {
      const latest = now + 90 * 86_400_000;
      db.prepare('UPDATE api_keys SET expires_at = min(coalesce(expires_at, @latest), @latest)').run({
        latest,
      });
    },
  },
  {
    version: 5,
    name: 'network dns settings',
    // Each network's DNS settings (burrow-server dns), as a row only once an admin set them: no row
    // reads as none. Lists are JSON in normal form (src/control/dns-settings.ts).
    sql: `
      CREATE TABLE network_dns (
        network_id TEXT PRIMARY KEY REFERENCES networks (id),
        nameservers TEXT NOT NULL,
        routes TEXT NOT NULL,
        search_domains TEXT NOT NULL,
        override INTEGER NOT NULL CHECK (override IN (0, 1)),
        updated_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
];

/** Brings the database up to the last of `migrations`; returns the version it is at. */
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
      m.data?.(db, now);
      record.run(m.version, m.name, now);
    }).immediate();
  });
  return Math.max(current, latest);
}
