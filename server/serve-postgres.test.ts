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

/** A device on `server`: registers with `authKey` as `hostname`, asks for its map, and keeps every message. */
async function device(server: RunningServer, authKey: string, hostname: string) {
  const privateKey = clampPrivateKey(randomBytes(32));
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
  channel.send({ type: 'register', nodeKey: key(), discoKey: key(), hostname, authKey });
  expect(await next((m) => m.type === 'register-result')).toMatchObject({ status: 'ok' });
  channel.send({ type: 'map', endpoints: [] });
  return { next, send: (m: ClientMessage) => channel.send(m), inbox };
}

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
    await laptop.next((m) => m.type === 'delta' && !!m.peersAdded?.some((p) => p.name === 'phone'));
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
    await laptop.next((m) => m.type === 'delta' && !!m.peersAdded?.some((p) => p.name === 'phone'));

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
});
