import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientMessage, ServerMessage } from '../src/control/messages.js';
import { randomBytes, selectCrypto } from '../src/crypto/index.js';
import { clampPrivateKey } from '../src/wireguard/keys.js';
import { connectControl } from '../test/support/control-lab.js';
import { main } from './main.js';
import { type RunningServer, startServer } from './serve.js';
import { startPgCluster } from './store/test-support/pg-cluster.js';

const crypto = selectCrypto();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const key = () => Buffer.from(randomBytes(32)).toString('base64');

/** A control channel to `server` from `machine` (a fresh machine key), keeping every message it is sent. */
async function connect(
  server: RunningServer,
  machine = { privateKey: clampPrivateKey(randomBytes(32)), nodeKey: key() },
) {
  const { privateKey } = machine;
  const { publicKey } = (await (await fetch(`${server.url}/control/key`)).json()) as { publicKey: string };
  const channel = await connectControl(server.url, {
    crypto,
    machine: { privateKey, publicKey: crypto.x25519PublicKey(privateKey) },
    serverPublicKey: new Uint8Array(Buffer.from(publicKey, 'base64')),
    random: randomBytes,
    now: Date.now,
  });
  cleanups.push(() => channel.close());
  const inbox: ServerMessage[] = [];
  channel.onMessage((m) => inbox.push(m));
  const next = async (match: (m: ServerMessage) => boolean): Promise<ServerMessage> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = inbox.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching message; got ${JSON.stringify(inbox)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const register = (hostname: string, authKey?: string) =>
    channel.send({
      type: 'register',
      nodeKey: machine.nodeKey,
      discoKey: key(),
      hostname,
      ...(authKey !== undefined ? { authKey } : {}),
    });
  return {
    next,
    register,
    send: (m: ClientMessage) => channel.send(m),
    inbox,
    machine,
    close: () => channel.close(),
  };
}

/** A device on `server`: registers with `authKey` as `hostname`, asks for its map, and keeps every message. */
async function device(server: RunningServer, authKey: string, hostname: string) {
  const d = await connect(server);
  d.register(hostname, authKey);
  const result = await d.next((m) => m.type === 'register-result');
  expect(result).toMatchObject({ status: 'ok' });
  d.send({ type: 'map', endpoints: [] });
  return { ...d, id: (result as { self: { id: string } }).self.id };
}

/** Matches the first message showing a peer named `name`: in a full map, or added by a delta. */
const knows = (name: string) => (m: ServerMessage) =>
  (m.type === 'full-map' && m.map.peers.some((p) => p.name === name)) ||
  (m.type === 'delta' && !!m.peersAdded?.some((p) => p.name === name));

/** A throwaway cluster with a `burrow` database, and the URL instances use for it. */
async function database() {
  const pg = await startPgCluster();
  cleanups.push(() => pg.stop());
  await pg.psql('CREATE DATABASE burrow');
  const dir = mkdtempSync(join(tmpdir(), 'burrow-serve-pg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const db = `postgres://${pg.user}@/burrow?host=${encodeURIComponent(pg.dir)}`;
  return { pg, db, keyPath: join(dir, 'server.key') };
}

/** Runs an admin CLI command on `db`; resolves with what it printed. */
async function cli(db: string, ...argv: string[]): Promise<string> {
  let out = '';
  expect(await main([...argv, '--db', db], { out: (t) => (out += t), err: () => {} })).toBe(0);
  return out.trim();
}

describe('burrow-server on PostgreSQL', () => {
  it('two instances on one database and one key: devices on either see each other, and admin changes reach both', async () => {
    const { db, keyPath } = await database();
    const start = async () => {
      const running = await startServer({ db, keyPath, host: '127.0.0.1', port: 0, pollMs: 25 });
      cleanups.push(() => running.close());
      return running;
    };
    const [one, two] = [await start(), await start()];
    expect(one.publicKey).toBe(two.publicKey);
    await expect(startServer({ db, host: '127.0.0.1', port: 0 })).rejects.toThrow(/server key file/);

    await cli(db, 'users', 'create', 'alice', '--network', 'home');
    const authKey = await cli(db, 'authkeys', 'create', '--user', 'alice', '--reusable');

    const laptop = await device(one, authKey, 'laptop');
    const phone = await device(two, authKey, 'phone');
    const full = (await phone.next((m) => m.type === 'full-map')) as Extract<
      ServerMessage,
      { type: 'full-map' }
    >;
    expect(full.map.peers.map((p) => p.name)).toEqual(['laptop']);
    await laptop.next(knows('phone'));
    await cli(db, 'devices', 'rename', 'phone', 'pocket');
    await laptop.next((m) => m.type === 'delta' && !!m.peersChanged?.some((p) => p.name === 'pocket'));
    const health = (await (await fetch(`${two.url}/health`)).json()) as { ok: boolean };
    expect(health.ok).toBe(true);
  });

  it('a change on one instance wakes the other at once (LISTEN/NOTIFY), and one made while its LISTEN connection is down still arrives', async () => {
    const { pg, db, keyPath } = await database();
    // The safety poll is out of the picture: only a notification, or the catch-up after the LISTEN
    // connection is back, can bring one instance's change to the other's devices.
    const start = async () => {
      const running = await startServer({ db, keyPath, host: '127.0.0.1', port: 0, pollMs: 600_000 });
      cleanups.push(() => running.close());
      return running;
    };
    const [one, two] = [await start(), await start()];
    await cli(db, 'users', 'create', 'alice', '--network', 'home');
    const authKey = await cli(db, 'authkeys', 'create', '--user', 'alice', '--reusable');
    const laptop = await device(one, authKey, 'laptop');
    const phone = await device(two, authKey, 'phone');
    await phone.next((m) => m.type === 'full-map');
    await laptop.next(knows('phone'));

    const movedTo = (endpoint: string) => (m: ServerMessage) =>
      m.type === 'delta' &&
      !!m.peersChanged?.some((p) => p.name === 'laptop' && p.endpoints.includes(endpoint));
    const sent = performance.now();
    laptop.send({ type: 'endpoints', endpoints: ['192.0.2.1:41641'] });
    await phone.next(movedTo('192.0.2.1:41641'));
    console.log(
      `a change on instance one reached a device on instance two in ${(performance.now() - sent).toFixed(0)} ms`,
    );

    // Both instances' LISTEN connections are cut; the change is made before they are back.
    const killed = await pg.psql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'burrow-server change listener'",
      'burrow',
    );
    expect(killed).toBe('2');
    laptop.send({ type: 'endpoints', endpoints: ['192.0.2.2:41641'] });
    await phone.next(movedTo('192.0.2.2:41641'));
    // And the listeners are back: the next change is again heard at once.
    const listeners = async () =>
      pg.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'burrow-server change listener'",
        'burrow',
      );
    for (let i = 0; i < 100 && (await listeners()) !== '2'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await listeners()).toBe('2');
    laptop.send({ type: 'endpoints', endpoints: ['192.0.2.3:41641'] });
    await phone.next(movedTo('192.0.2.3:41641'));
  });

  it('while the database is down: /health says so, devices keep streaming, every change is refused saying why, and all catches up once it is back', async () => {
    const { pg, db, keyPath } = await database();
    // The default polling: notifications, and the 1.5 s safety poll.
    const start = async () => {
      const running = await startServer({ db, keyPath, host: '127.0.0.1', port: 0 });
      cleanups.push(() => running.close());
      return running;
    };
    const [one, two] = [await start(), await start()];
    await cli(db, 'users', 'create', 'alice', '--network', 'home');
    const authKey = await cli(db, 'authkeys', 'create', '--user', 'alice', '--reusable');
    const apiKey = await cli(db, 'apikeys', 'create', '--network', 'home');
    const laptop = await device(one, authKey, 'laptop');
    const phone = await device(two, authKey, 'phone');
    await phone.next((m) => m.type === 'full-map');
    const tablet = await device(one, authKey, 'tablet');
    await tablet.next((m) => m.type === 'full-map');
    await laptop.next(knows('phone'));
    await phone.next(knows('tablet'));
    const health = async (server: RunningServer) => {
      const res = await fetch(`${server.url}/health`);
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: (await res.json()) as Record<string, unknown>,
      };
    };
    expect(await health(one)).toMatchObject({ status: 200, body: { ok: true, database: 'reachable' } });

    await pg.pause();
    const stoppedAt = Date.now();
    // /health probes at most once a second, with a 1 s timeout.
    for (const server of [one, two]) {
      let report = await health(server);
      while (report.status === 200 && Date.now() - stoppedAt < 5000) {
        await new Promise((r) => setTimeout(r, 100));
        report = await health(server);
      }
      expect(report).toMatchObject({
        status: 503,
        retryAfter: '5',
        body: { ok: false, database: 'unreachable', error: expect.stringMatching(/database is unreachable/) },
      });
      expect(Date.parse(String(report.body.since))).toBeGreaterThanOrEqual(stoppedAt - 1000);
    }

    expect(await (await fetch(`${one.url}/metrics`)).text()).toMatch(/^burrow_database_reachable 0$/m);
    // Devices keep their streams: keepalives are answered, an endpoints report is held, not refused.
    laptop.send({ type: 'endpoints', endpoints: ['192.0.2.9:41641'] });
    laptop.send({ type: 'ping', id: 1 });
    await laptop.next((m) => m.type === 'pong' && m.id === 1);
    // Changes are refused, saying why: the admin API (503, Retry-After), the admin CLI, a registration.
    const api = await fetch(`${one.url}/api/v1/devices/${phone.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'pocket' }),
    });
    expect(api.status).toBe(503);
    expect(api.headers.get('retry-after')).toBe('5');
    expect(((await api.json()) as { error: string }).error).toMatch(/^the database is unreachable/);
    let err = '';
    const renamed = await main(['devices', 'rename', 'phone', 'pocket', '--db', db], {
      out: () => {},
      err: (t) => (err += t),
    });
    expect(renamed).toBe(1);
    expect(err).toMatch(/^burrow-server: the database is unreachable/);
    const stranger = await connect(two);
    stranger.register('tablet', authKey);
    expect(await stranger.next((m) => m.type === 'error')).toMatchObject({
      reason: expect.stringMatching(/^the database is unreachable/),
    });
    // A known device coming back with the same keys (its instance gone, say) gets its map again.
    tablet.close();
    const back = await connect(two, tablet.machine);
    back.register('tablet');
    expect(await back.next((m) => m.type === 'register-result')).toMatchObject({ status: 'ok' });
    back.send({ type: 'map', endpoints: ['192.0.2.7:41641'] });
    const map = (await back.next((m) => m.type === 'full-map')) as Extract<
      ServerMessage,
      { type: 'full-map' }
    >;
    expect(map.map.peers.map((p) => p.name).sort()).toEqual(['laptop', 'phone']);
    laptop.send({ type: 'ping', id: 2 });
    await laptop.next((m) => m.type === 'pong' && m.id === 2);
    expect(laptop.inbox.filter((m) => m.type === 'error')).toEqual([]);

    await pg.resume();
    // The held report is saved and reaches the other instance's device; so does a change made now.
    const movedTo = (endpoint: string) => (m: ServerMessage) =>
      m.type === 'delta' &&
      !!m.peersChanged?.some((p) => p.name === 'laptop' && p.endpoints.includes(endpoint));
    await phone.next(movedTo('192.0.2.9:41641'));
    await cli(db, 'devices', 'rename', 'phone', 'pocket');
    await laptop.next((m) => m.type === 'delta' && !!m.peersChanged?.some((p) => p.name === 'pocket'));
    for (const server of [one, two]) {
      let report = await health(server);
      for (let i = 0; i < 30 && report.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        report = await health(server);
      }
      expect(report).toMatchObject({ status: 200, body: { ok: true, database: 'reachable' } });
    }
    expect(await (await fetch(`${one.url}/metrics`)).text()).toMatch(/^burrow_database_reachable 1$/m);
  });
});

describe('burrow-server on PostgreSQL, shutting down', () => {
  it('closes while the change feed is being followed without touching the closed pool', async () => {
    const { db, keyPath } = await database();
    const logged: string[] = [];
    // Polls back to back, so a read of the feed is in flight when close() comes.
    const running = await startServer({
      db,
      keyPath,
      host: '127.0.0.1',
      port: 0,
      pollMs: 1,
      log: (line) => logged.push(line),
    });
    await cli(db, 'users', 'create', 'alice', '--network', 'home');
    const authKey = await cli(db, 'authkeys', 'create', '--user', 'alice', '--reusable');
    for (let i = 0; i < 20; i++) await device(running, authKey, `d${i}`);
    const renames = Promise.all(
      Array.from({ length: 20 }, (_, i) => cli(db, 'devices', 'rename', `d${i}`, `e${i}`).catch(() => '')),
    );
    await new Promise((r) => setTimeout(r, 30));
    await running.close();
    await renames;
    await new Promise((r) => setTimeout(r, 200));
    expect(logged.filter((l) => /change feed|pool/.test(l))).toEqual([]);
  });
});
