import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../src/control/messages.js';
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
  return { next };
}

describe('burrow-server on PostgreSQL', () => {
  it('two instances on one database and one key: devices on either see each other, and admin changes reach both', async () => {
    const pg = await startPgCluster();
    cleanups.push(() => pg.stop());
    await pg.psql('CREATE DATABASE burrow');
    const db = `postgres://${pg.user}@/burrow?host=${encodeURIComponent(pg.dir)}`;
    const dir = mkdtempSync(join(tmpdir(), 'burrow-serve-pg-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const keyPath = join(dir, 'server.key');
    const start = async () => {
      const running = await startServer({ db, keyPath, host: '127.0.0.1', port: 0, pollMs: 25 });
      cleanups.push(() => running.close());
      return running;
    };
    const [one, two] = [await start(), await start()];
    expect(one.publicKey).toBe(two.publicKey);
    await expect(startServer({ db, host: '127.0.0.1', port: 0 })).rejects.toThrow(/server key file/);

    let out = '';
    const cli = async (...argv: string[]) => {
      out = '';
      expect(await main([...argv, '--db', db], { out: (t) => (out += t), err: () => {} })).toBe(0);
      return out.trim();
    };
    await cli('users', 'create', 'alice', '--network', 'home');
    const authKey = await cli('authkeys', 'create', '--user', 'alice', '--reusable');

    const laptop = await device(one, authKey, 'laptop');
    const phone = await device(two, authKey, 'phone');
    const full = (await phone.next((m) => m.type === 'full-map')) as Extract<
      ServerMessage,
      { type: 'full-map' }
    >;
    expect(full.map.peers.map((p) => p.name)).toEqual(['laptop']);
    await laptop.next((m) => m.type === 'delta' && !!m.peersAdded?.some((p) => p.name === 'phone'));
    await cli('devices', 'rename', 'phone', 'pocket');
    await laptop.next((m) => m.type === 'delta' && !!m.peersChanged?.some((p) => p.name === 'pocket'));
    const health = (await (await fetch(`${two.url}/health`)).json()) as { ok: boolean };
    expect(health.ok).toBe(true);
  });
});
