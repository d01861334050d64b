/**
 * `burrow-server migrate --from sqlite:PATH --to postgres://...`: a SQLite database filled through
 * the real store API, with a row in every table, copied into a throwaway PostgreSQL cluster; a full
 * export of both (every table, row and column) is then the same, and `burrow-server serve` on the
 * copy, with the same server key, gives a device the same map as on the original.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/control/messages.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { clampPrivateKey } from '../../src/wireguard/keys.js';
import { connectControl } from '../../test/support/control-lab.js';
import { freePort } from '../../test/support/ports.js';
import { BURROW_SERVER } from '../../test/support/programs.js';
import { main } from '../main.js';
import { openPool } from '../store/postgres/db.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { type PgCluster, startPgCluster } from '../store/test-support/pg-cluster.js';
import { DAY, identity, T0 } from '../store/testing.js';

const crypto = selectCrypto();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let cluster: PgCluster;
let databases = 0;
beforeAll(async () => {
  cluster = await startPgCluster();
  // The first run of bin/burrow-server may compile the server.
  await new Promise((r) => execFile(BURROW_SERVER, ['--help'], r));
}, 180_000);
afterAll(() => cluster?.stop());

/** A new empty PostgreSQL database: its URL. */
async function pgDatabase(): Promise<string> {
  const name = `m${process.pid}_${++databases}`;
  await cluster.psql(`CREATE DATABASE ${name}`);
  return `postgres://${cluster.user}@/${name}?host=${encodeURIComponent(cluster.dir)}`;
}

function sqlitePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-migrate-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'burrow.db');
}

/** Runs `burrow-server ARGV` in-process: exit code and what it printed. */
async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) }, T0 + 10 * DAY);
  return { code, out, err };
}

/** A machine key pair a test device connects with. */
function machine() {
  const privateKey = clampPrivateKey(randomBytes(32));
  const publicKey = crypto.x25519PublicKey(privateKey);
  return { privateKey, publicKey, base64: Buffer.from(publicKey).toString('base64') };
}

/**
 * A database with rows in every table, made through the store: networks, users with a password,
 * auth keys used and revoked, devices with routes, tags, endpoints, a home relay and key expiry,
 * invites in every state, shares, a policy, DNS settings, API keys, login sessions, and a change
 * feed pruned at its start (so its horizon is not 0), all at times from `t`. Returns the machine
 * key of one device.
 */
async function populate(path: string, t = T0) {
  const store = openSqliteStore({ path, now: t });
  const laptopMachine = machine();
  try {
    const acme = await store.createNetwork({ name: 'Acme' }, t);
    const ana = await store.createUser({ name: 'ana', networkId: acme.id }, t);
    const bo = await store.createUser({ name: 'bo' }, t + 1);
    const cy = await store.createUser({ name: 'cy' }, t + 2);
    await store.setPassword(ana.id, 'correct horse battery');
    const { secret } = await store.createAuthKey({ userId: ana.id, reusable: true, tags: ['tag:server'] }, t);
    const revoked = await store.createAuthKey({ userId: bo.id, ephemeral: true }, t);
    await store.revokeAuthKey(revoked.authKey.id, t + 3);
    const laptop = await store.registerDevice(
      { ...identity('laptop'), machineKey: laptopMachine.base64, userId: ana.id },
      t,
    );
    const server = await store.registerDeviceWithAuthKey(secret, identity('server'), t + 4);
    const printer = await store.registerDevice({ ...identity('printer'), userId: bo.id }, t + 5);
    await store.registerDevice({ ...identity('laptop'), userId: ana.id }, t + 6); // laptop-1
    await store.setAdvertisedRoutes(server.id, { routes: ['10.1.0.0/16'], exitNode: true }, t + 7);
    await store.approveRoutes(server.id, { routes: ['10.1.0.0/16'], exitNode: true }, t + 8);
    await store.setDeviceStatus(
      laptop.id,
      { online: false, lastSeen: t + 9, endpoints: ['192.0.2.7:41641'], homeRelay: 2 },
      t + 9,
    );
    await store.reauthenticateDevice(server.id, t + 10, t + 400 * DAY);
    const link = await store.createInvite({ deviceId: printer.id, byUserId: bo.id, multiUse: true }, t);
    await store.acceptInvite({ code: link.code }, ana.id, t + 11);
    const named = await store.createInvite(
      { deviceId: printer.id, byUserId: bo.id, recipientUserId: cy.id },
      t + 12,
    );
    await store.declineInvite(named.invite.id, cy.id, t + 13);
    await store.createInvite({ deviceId: printer.id, byUserId: bo.id, recipientUserId: cy.id }, t + 14);
    await store.setPolicy(acme.id, '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}', t + 15);
    await store.setDnsSettings(
      acme.id,
      { nameservers: ['10.1.0.53'], routes: [], searchDomains: ['corp.example'], override: true },
      t + 16,
    );
    const api = await store.createApiKey({ networkId: acme.id }, t);
    await store.verifyApiKey(api.secret, t + 17);
    const waiting = await store.createLoginSession(
      { ...identity('tablet'), requestedFrom: '198.51.100.4' },
      t,
    );
    const done = await store.createLoginSession({ ...identity('desktop'), requestedFrom: '198.51.100.5' }, t);
    await store.completeLoginSession(done.id, ana.id, t + 18);
    expect(waiting.id).not.toBe(done.id);
    await store.pruneChanges(t + 2); // the first changes go: the horizon moves
    return { laptop: laptopMachine, seq: await store.currentSeq() };
  } finally {
    await store.close();
  }
}

type Export = Record<string, Record<string, unknown>[]>;

/** Rows in a stable order, whatever each database returned them in. */
const sorted = (rows: Record<string, unknown>[]) =>
  rows.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

/**
 * Every table but schema_version, every row and column; of schema_version, the versions (each
 * database records when it made its own schema). PostgreSQL's BIGINT reads as a number (the pool's
 * type parser), as SQLite's INTEGER does; nothing else needs normalising.
 */
function exportSqlite(path: string): Export {
  const db = new Database(path, { readonly: true });
  try {
    const tables = (
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'sqlite_sequence'")
        .all() as {
        name: string;
      }[]
    ).map((t) => t.name);
    return Object.fromEntries(
      tables.map((t) => [
        t,
        sorted(
          db
            .prepare(
              t === 'schema_version' ? 'SELECT version, name FROM schema_version' : `SELECT * FROM "${t}"`,
            )
            .all() as Record<string, unknown>[],
        ),
      ]),
    );
  } finally {
    db.close();
  }
}

async function exportPostgres(url: string): Promise<Export> {
  const pool = openPool({ connectionString: url, max: 1 });
  try {
    const tables = (
      await pool.query<{ name: string }>(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      )
    ).rows.map((t) => t.name);
    const out: Export = {};
    for (const t of tables) {
      const text =
        t === 'schema_version' ? 'SELECT version, name FROM schema_version' : `SELECT * FROM "${t}"`;
      out[t] = sorted((await pool.query(text)).rows);
    }
    return out;
  } finally {
    await pool.end();
  }
}

/** `burrow-server serve` on `args`: its URL once it listens; stopped after the test. */
async function serve(args: string[]): Promise<string> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    BURROW_SERVER,
    ['serve', ...args, '--listen', `127.0.0.1:${port}`, '--stun-port', '0'],
    { stdio: 'pipe' },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise((r) => child.once('exit', r));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  const deadline = Date.now() + 60_000;
  while (!/listening on/.test(output)) {
    if (child.exitCode !== null) throw new Error(`burrow-server exited: ${output}`);
    if (Date.now() > deadline) throw new Error(`burrow-server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return `http://127.0.0.1:${port}`;
}

/** The full map the device with machine key `m` and node key `nodeKey` is sent by the server at `url`. */
async function mapOf(url: string, m: ReturnType<typeof machine>, nodeKey: string, discoKey: string) {
  const { publicKey } = (await (await fetch(`${url}/control/key`)).json()) as { publicKey: string };
  const channel = await connectControl(url, {
    crypto,
    machine: { privateKey: m.privateKey, publicKey: m.publicKey },
    serverPublicKey: new Uint8Array(Buffer.from(publicKey, 'base64')),
    random: randomBytes,
    now: Date.now,
  });
  try {
    const inbox: ServerMessage[] = [];
    channel.onMessage((message) => inbox.push(message));
    channel.send({ type: 'register', nodeKey, discoKey, hostname: 'laptop' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const refused = inbox.find((x) => x.type === 'register-result' && x.status !== 'ok');
      if (refused) throw new Error(`register refused: ${JSON.stringify(refused)}`);
      if (inbox.some((x) => x.type === 'register-result')) break;
      if (Date.now() > deadline) throw new Error(`no register-result: ${JSON.stringify(inbox)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    channel.send({ type: 'map', endpoints: [] });
    for (;;) {
      const full = inbox.find((x) => x.type === 'full-map');
      if (full)
        return JSON.parse(
          JSON.stringify(full).replaceAll(url, 'SERVER').replaceAll(url.replace('http', 'ws'), 'SERVER'),
        );
      if (Date.now() > deadline) throw new Error(`no full map: ${JSON.stringify(inbox)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    channel.close();
  }
}

describe('burrow-server migrate', () => {
  it('copies a populated database exactly: every table, row and column, with the feed position and counters', async () => {
    const path = sqlitePath();
    const { seq } = await populate(path);
    const url = await pgDatabase();
    const result = await cli('migrate', '--from', `sqlite:${path}`, '--to', url);
    expect(result.err).toMatch(/copied \d+ tables/);
    expect(result.code).toBe(0);
    const source = exportSqlite(path);
    // Every table has rows: the test leaves none of the schema untried.
    for (const [table, rows] of Object.entries(source)) expect(rows.length, table).toBeGreaterThan(0);
    expect(await exportPostgres(url)).toEqual(source);
    // The counts it printed are each table's, on both sides.
    for (const [table, rows] of Object.entries(source)) {
      if (table === 'schema_version') continue;
      expect(result.out).toMatch(new RegExp(`^${table} +${rows.length} +${rows.length}$`, 'm'));
    }
    expect(source.meta).toContainEqual({ key: 'changes_seq', value: seq });
  }, 120_000);

  it('refuses a database that holds data, saying so, unless --overwrite; a failing copy changes nothing', async () => {
    const path = sqlitePath();
    await populate(path);
    const url = await pgDatabase();
    expect((await cli('migrate', '--from', `sqlite:${path}`, '--to', url)).code).toBe(0);
    const copied = await exportPostgres(url);

    const again = await cli('migrate', '--from', `sqlite:${path}`, '--to', url);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already holds data \(.*devices: 5.*\).*--overwrite.*nothing was changed/);
    expect(await exportPostgres(url)).toEqual(copied);

    // A copy that fails half-way (the target refuses change-feed rows) leaves the target as it was.
    const pool = openPool({ connectionString: url, max: 1 });
    await pool.query(`CREATE FUNCTION fail_changes() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER fail_changes BEFORE INSERT ON changes FOR EACH ROW EXECUTE FUNCTION fail_changes()`);
    const store = openSqliteStore({ path, now: T0 });
    const dan = await store.createUser({ name: 'dan' }, T0 + 99);
    await store.close();
    const failed = await cli('migrate', '--from', `sqlite:${path}`, '--to', url, '--overwrite');
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/the copy failed: injected failure; nothing was changed/);
    expect(await exportPostgres(url)).toEqual(copied);

    await pool.query('DROP TRIGGER fail_changes ON changes; DROP FUNCTION fail_changes()');
    await pool.end();
    const overwritten = await cli('migrate', '--from', `sqlite:${path}`, '--to', url, '--overwrite');
    expect(overwritten.code).toBe(0);
    const after = await exportPostgres(url);
    expect(after).toEqual(exportSqlite(path));
    expect(after.users!.map((u) => u.id)).toContain(dan.id);
  }, 120_000);

  it('refuses a missing source and arguments that are not sqlite:PATH and postgres://', async () => {
    const url = await pgDatabase();
    expect((await cli('migrate', '--from', 'sqlite:/nonexistent/burrow.db', '--to', url)).err).toMatch(
      /no such SQLite database/,
    );
    expect((await cli('migrate', '--from', '/x.db', '--to', url)).code).toBe(2);
    expect((await cli('migrate', '--from', 'sqlite:/x.db', '--to', 'mysql://x')).code).toBe(2);
    expect((await cli('migrate', '--from', 'sqlite:/x.db')).code).toBe(2);
  }, 60_000);

  it('burrow-server serve on the copy, with the same server key, gives a device the same map', async () => {
    const path = sqlitePath();
    // Made now: a server refuses a device whose key expired, as those made at T0 have.
    const { laptop } = await populate(path, Date.now() - DAY);
    const store = openSqliteStore({ path });
    const device = (await store.findDeviceByMachineKey(laptop.base64))!;
    await store.close();
    const url = await pgDatabase();
    expect((await cli('migrate', '--from', `sqlite:${path}`, '--to', url)).code).toBe(0);

    const config = join(path, '..', 'pg.hujson');
    writeFileSync(config, JSON.stringify({ database: url, keyFile: `${path}.key` }));
    const onSqlite = await serve(['--db', path]);
    const before = await mapOf(onSqlite, laptop, device.nodeKey, device.discoKey);
    const onPostgres = await serve(['--config', config]);
    const after = await mapOf(onPostgres, laptop, device.nodeKey, device.discoKey);
    expect(before.map.peers.length).toBeGreaterThan(1);
    const own = (map: { map: { self: { lastSeen?: unknown } } }) => {
      map.map.self.lastSeen = 'when it connected';
      return map;
    };
    expect(own(after)).toEqual(own(before));
  }, 120_000);
});
