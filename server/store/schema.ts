/**
 * The schema as numbered migrations, written once for both back ends: where SQLite and PostgreSQL
 * spell a type differently, the text takes it from the dialect's `SchemaDialect`. Both stay at the
 * same version, so a database moved between them (burrow-server migrate) is at the same version too.
 * A migration, once released, is never edited: a change is a new migration at the end. Times are
 * Unix ms, booleans 0/1, lists JSON arrays in TEXT; names compare without case.
 */
export interface SchemaDialect {
  /** Statements before the first table (PostgreSQL: the citext extension). */
  prelude: string;
  /** After each CREATE TABLE's closing parenthesis (SQLite: STRICT, which checks types). */
  strict: string;
  /** Times in ms, addresses, seqs and counters. */
  int64: string;
  /** A name compared without case. */
  nocaseText: string;
  /** The change feed's seq column. */
  seqKey: string;
  /** The last seq handed out, as an expression, for the counter row migration 6 adds. */
  lastSeq: string;
}

export const SQLITE_DIALECT: SchemaDialect = {
  prelude: '',
  strict: ' STRICT',
  int64: 'INTEGER',
  nocaseText: 'TEXT COLLATE NOCASE',
  // AUTOINCREMENT kept the seq counter until migration 6; sqlite_sequence still follows inserts.
  seqKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  lastSeq: "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)",
};

export const POSTGRES_DIALECT: SchemaDialect = {
  prelude: 'CREATE EXTENSION IF NOT EXISTS citext;',
  strict: '',
  int64: 'BIGINT',
  nocaseText: 'CITEXT',
  seqKey: 'BIGINT PRIMARY KEY',
  lastSeq: '0',
};

export interface SchemaMigration {
  version: number;
  name: string;
  sql: (d: SchemaDialect) => string;
  /** A data change that needs the time of the migration: run after `sql`, in the same transaction. */
  data?: (now: number) => string;
}

/** One back end's migrations: the SQL in its dialect. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  data?: (now: number) => string;
}

export const MIGRATIONS: readonly SchemaMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: (d) => `
${d.prelude}
      -- Small server-wide counters: the IPv4 allocation cursor, the change-feed seq and prune horizon.
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value ${d.int64} NOT NULL
      )${d.strict};

      CREATE TABLE networks (
        id TEXT PRIMARY KEY,
        name ${d.nocaseText} NOT NULL UNIQUE,
        ula TEXT NOT NULL UNIQUE,
        created_at ${d.int64} NOT NULL
      )${d.strict};

      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name ${d.nocaseText} NOT NULL UNIQUE,
        network_id TEXT NOT NULL REFERENCES networks (id),
        password_hash TEXT,
        created_at ${d.int64} NOT NULL
      )${d.strict};
      CREATE INDEX users_by_network ON users (network_id);

      CREATE TABLE auth_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        reusable INTEGER NOT NULL,
        ephemeral INTEGER NOT NULL,
        tags TEXT NOT NULL,
        created_at ${d.int64} NOT NULL,
        expires_at ${d.int64} NOT NULL,
        used_at ${d.int64},
        revoked_at ${d.int64}
      )${d.strict};
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
        ipv4 ${d.int64} NOT NULL UNIQUE,
        ipv6 TEXT NOT NULL UNIQUE,
        tags TEXT NOT NULL,
        ephemeral INTEGER NOT NULL,
        key_expiry ${d.int64},
        last_seen ${d.int64},
        online INTEGER NOT NULL,
        endpoints TEXT NOT NULL,
        advertised_routes TEXT NOT NULL,
        approved_routes TEXT NOT NULL,
        advertises_exit_node INTEGER NOT NULL,
        exit_node_approved INTEGER NOT NULL,
        created_at ${d.int64} NOT NULL,
        UNIQUE (network_id, name)
      )${d.strict};
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
        created_at ${d.int64} NOT NULL,
        expires_at ${d.int64} NOT NULL,
        updated_at ${d.int64} NOT NULL
      )${d.strict};
      CREATE INDEX invites_by_owner ON invites (owner_user_id);
      CREATE INDEX invites_by_recipient ON invites (recipient_user_id);
      CREATE INDEX invites_by_device ON invites (device_id);

      CREATE TABLE shares (
        id TEXT PRIMARY KEY,
        invite_id TEXT NOT NULL REFERENCES invites (id) ON DELETE CASCADE,
        device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        recipient_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at ${d.int64} NOT NULL,
        UNIQUE (recipient_user_id, device_id)
      )${d.strict};
      CREATE INDEX shares_by_device ON shares (device_id);
      CREATE INDEX shares_by_invite ON shares (invite_id);

      CREATE TABLE policies (
        network_id TEXT PRIMARY KEY REFERENCES networks (id),
        text TEXT NOT NULL,
        updated_at ${d.int64} NOT NULL
      )${d.strict};

      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at ${d.int64} NOT NULL,
        expires_at ${d.int64},
        last_used_at ${d.int64}
      )${d.strict};

      CREATE TABLE login_sessions (
        id TEXT PRIMARY KEY,
        machine_key TEXT NOT NULL,
        node_key TEXT NOT NULL,
        disco_key TEXT NOT NULL,
        hostname TEXT NOT NULL,
        created_at ${d.int64} NOT NULL,
        expires_at ${d.int64} NOT NULL,
        user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
        completed_device_id TEXT REFERENCES devices (id) ON DELETE SET NULL
      )${d.strict};
      CREATE INDEX login_sessions_by_expiry ON login_sessions (expires_at);

      -- A seq is never handed out twice, even after the newest rows are pruned (SQLite: AUTOINCREMENT
      -- until migration 6, the meta counter row since).
      -- device_id has no foreign key: a removal record outlives its device.
      CREATE TABLE changes (
        seq ${d.seqKey},
        network_id TEXT NOT NULL REFERENCES networks (id),
        kind TEXT NOT NULL,
        device_id TEXT,
        created_at ${d.int64} NOT NULL
      )${d.strict};
      CREATE INDEX changes_by_network ON changes (network_id, seq);
      CREATE INDEX changes_by_time ON changes (created_at);
    `,
  },
  {
    version: 2,
    name: 'device home relay',
    // The relay region a device reports as its home (lowest latency); NULL while it reports none.
    sql: () => `
      ALTER TABLE devices ADD COLUMN home_relay INTEGER CHECK (home_relay BETWEEN 1 AND 65535);
    `,
  },
  {
    version: 3,
    name: 'login session origin',
    // Where the request for a login link came from, shown on the sign-in page so that whoever
    // opens a link someone else sent them can see it was not their own `burrow up`.
    sql: () => `
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
    sql: () => `
      ALTER TABLE api_keys ADD COLUMN network_id TEXT REFERENCES networks (id);
    `,
    data: (now) => {
      const latest = Math.trunc(now + 90 * 86_400_000);
      return `UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > ${latest} THEN ${latest} ELSE expires_at END`;
    },
  },
  {
    version: 5,
    name: 'network dns settings',
    // Each network's DNS settings (burrow-server dns), as a row only once an admin set them: no row
    // reads as none. Lists are JSON in normal form (src/control/dns-settings.ts).
    sql: (d) => `
      CREATE TABLE network_dns (
        network_id TEXT PRIMARY KEY REFERENCES networks (id),
        nameservers TEXT NOT NULL,
        routes TEXT NOT NULL,
        search_domains TEXT NOT NULL,
        override INTEGER NOT NULL CHECK (override IN (0, 1)),
        updated_at ${d.int64} NOT NULL
      )${d.strict};
    `,
  },
  {
    version: 6,
    name: 'change seq counter',
    // The change feed's last seq as a row of meta on both back ends (PostgreSQL kept it there from
    // the start; SQLite in AUTOINCREMENT's sqlite_sequence): one query takes the next seq on both,
    // and the feed's position moves with the rest of the data.
    sql: (d) => `
      INSERT INTO meta (key, value) VALUES ('changes_seq', ${d.lastSeq}) ON CONFLICT (key) DO NOTHING;
    `,
  },
];

/** The migrations in one dialect. */
export const migrationsFor = (d: SchemaDialect): Migration[] =>
  MIGRATIONS.map((m) => ({
    version: m.version,
    name: m.name,
    sql: m.sql(d),
    ...(m.data ? { data: m.data } : {}),
  }));
