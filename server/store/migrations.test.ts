import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Migration, migrate, SQLITE_MIGRATIONS } from './migrations.js';
import { newSecret } from './secrets.js';
import { openSqliteStore } from './sqlite-store.js';
import { DAY, identity, T0 } from './testing.js';

describe('migrations', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'burrow-migrations-'));
    path = join(dir, 'burrow.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const versions = (db: Database.Database) =>
    db.prepare('SELECT version, name, applied_at FROM schema_version').all();

  it('are numbered from 1 without gaps', async () => {
    expect(SQLITE_MIGRATIONS.map((m) => m.version)).toEqual(SQLITE_MIGRATIONS.map((_, i) => i + 1));
  });

  it('run once, recorded in schema_version, and opening again runs nothing', async () => {
    openSqliteStore({ path, now: T0 }).close();
    openSqliteStore({ path, now: T0 + 1 }).close();
    const db = new Database(path);
    expect(versions(db)).toEqual(
      SQLITE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name, applied_at: T0 })),
    );
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('apply only the new ones; a failing one leaves the database at the version before it', async () => {
    const db = new Database(path);
    const first: Migration = SQLITE_MIGRATIONS[0]!;
    const later: Migration[] = [
      first,
      { version: 2, name: 'notes', sql: 'CREATE TABLE notes (id TEXT PRIMARY KEY) STRICT;' },
      {
        version: 3,
        name: 'broken',
        sql: 'ALTER TABLE notes ADD COLUMN body TEXT; INSERT INTO no_such_table VALUES (1);',
      },
    ];
    expect(migrate(db, T0, later.slice(0, 2))).toBe(2);
    expect(() => migrate(db, T0 + 1, later)).toThrow(/no_such_table/);
    expect(versions(db)).toEqual([
      { version: 1, name: 'initial schema', applied_at: T0 },
      { version: 2, name: 'notes', applied_at: T0 },
    ]);
    const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('notes');
    expect(columns).toEqual(['id']);
    db.close();
  });

  it('upgrade a version 1 database in place: no home relay, login sessions from an unknown address', async () => {
    const store = openSqliteStore({ path, now: T0 });
    const ana = await store.createUser({ name: 'ana' }, T0);
    const d = await store.registerDevice({ ...identity('pc'), userId: ana.id }, T0);
    const login = await store.createLoginSession({ ...identity('laptop'), requestedFrom: '192.0.2.1' }, T0);
    await store.close();
    // Back to what a burrow-server of schema version 1 left.
    const db = new Database(path);
    db.exec(`ALTER TABLE devices DROP COLUMN home_relay; ALTER TABLE login_sessions DROP COLUMN requested_from;
      ALTER TABLE api_keys DROP COLUMN network_id; DROP TABLE network_dns;
      DELETE FROM schema_version WHERE version > 1`);
    db.close();

    const upgraded = openSqliteStore({ path, now: T0 + 1 });
    expect(await upgraded.getDevice(d.id)).toEqual({ ...d, homeRelay: null });
    expect(await upgraded.getLoginSession(login.id)).toEqual({ ...login, requestedFrom: '' });
    expect((await upgraded.setDeviceStatus(d.id, { homeRelay: 7 }, T0 + 1)).homeRelay).toBe(7);
    await upgraded.close();
  });

  it('keep API keys made before keys had networks for every network, but expiring within 90 days', async () => {
    const db = new Database(path);
    migrate(db, T0, SQLITE_MIGRATIONS.slice(0, 3));
    const old = (id: string, expiresAt: number | null) => {
      const { secret, prefix, hash } = newSecret('bapi');
      db.prepare(
        'INSERT INTO api_keys (id, prefix, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      ).run(id, prefix, hash, T0, expiresAt);
      return { secret, key: { id, prefix, networkId: null, createdAt: T0, lastUsedAt: null } };
    };
    const [never, soon, late] = [old('never', null), old('soon', T0 + 5 * DAY), old('late', T0 + 999 * DAY)];
    db.close();

    const migratedAt = T0 + DAY;
    const latest = migratedAt + 90 * DAY;
    const store = openSqliteStore({ path, now: migratedAt });
    expect(await store.listApiKeys()).toEqual([
      { ...late.key, expiresAt: latest },
      { ...never.key, expiresAt: latest },
      { ...soon.key, expiresAt: T0 + 5 * DAY },
    ]);
    expect(await store.verifyApiKey(never.secret, latest - 1)).toMatchObject({
      id: 'never',
      networkId: null,
    });
    await expect(store.verifyApiKey(never.secret, latest)).rejects.toThrow(
      expect.objectContaining({ code: 'api-key-expired' }),
    );
    await store.close();
  });

  it('give networks of a version 4 database no DNS settings, which an admin may then set', async () => {
    const db = new Database(path);
    migrate(db, T0, SQLITE_MIGRATIONS.slice(0, 4));
    db.prepare(
      "INSERT INTO networks (id, name, ula, created_at) VALUES ('n1', 'family', 'fd12:3456:789a::/48', 0)",
    ).run();
    db.close();
    const store = openSqliteStore({ path, now: T0 });
    expect(await store.getDnsSettings('n1')).toMatchObject({
      nameservers: [],
      routes: [],
      override: false,
      updatedAt: null,
    });
    const settings = {
      nameservers: ['10.0.0.53'],
      routes: [],
      searchDomains: ['corp.example'],
      override: true,
    };
    expect(await store.setDnsSettings('n1', settings, T0)).toMatchObject(settings);
    await store.close();
  });

  it('carry the change feed of a version 5 database on from its last seq, even one pruned away', async () => {
    const db = new Database(path);
    migrate(db, T0, SQLITE_MIGRATIONS.slice(0, 5));
    db.prepare(
      "INSERT INTO networks (id, name, ula, created_at) VALUES ('n1', 'family', 'fd12:3456:789a::/48', 0)",
    ).run();
    const change = db.prepare(
      "INSERT INTO changes (network_id, kind, created_at) VALUES ('n1', 'policy-changed', 0)",
    );
    for (let i = 0; i < 7; i++) change.run();
    db.exec('DELETE FROM changes WHERE seq > 5'); // the newest, gone: AUTOINCREMENT never reused them
    db.close();
    const store = openSqliteStore({ path, now: T0 });
    expect(await store.currentSeq()).toBe(7);
    await store.setPolicy('n1', '{}', T0);
    expect((await store.changesAfter(5))?.map((c) => c.seq)).toEqual([8]);
    await store.close();
  });

  it('refuse a database from a newer burrow-server', async () => {
    openSqliteStore({ path, now: T0 }).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (99, ?, 0)').run('future');
    db.close();
    expect(() => openSqliteStore({ path, now: T0 })).toThrow(
      expect.objectContaining({ code: 'schema-too-new' }),
    );
  });
});
