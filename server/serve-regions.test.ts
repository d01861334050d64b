/**
 * Relay regions across instances: every burrow-server instance on one database is a relay region
 * of its own, every device is sent all of them, and a device reaches a peer homed on another
 * instance by connecting to that instance's relay (as RelaySet does on demand).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayRegion, ServerMessage } from '../src/control/messages.js';
import { randomBytes, selectCrypto } from '../src/crypto/index.js';
import { clampPrivateKey, decodeKey } from '../src/wireguard/keys.js';
import { connectControl } from '../test/support/control-lab.js';
import { runCleanups as relayCleanups, device as relayDevice, waitFor } from '../test/support/relay-lab.js';
import { main } from './main.js';
import { type RunningServer, startServer } from './serve.js';
import { startPgCluster } from './store/test-support/pg-cluster.js';

const crypto = selectCrypto();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await relayCleanups();
  for (const c of cleanups.splice(0).reverse()) await c();
});
const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');
const keyPair = () => {
  const privateKey = clampPrivateKey(randomBytes(32));
  return { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
};

/** Registers a device with node key `node` on `server`, and returns the relay map of its first full map. */
async function register(server: RunningServer, authKey: string, hostname: string, node = keyPair()) {
  const { publicKey } = (await (await fetch(`${server.url}/control/key`)).json()) as { publicKey: string };
  const channel = await connectControl(server.url, {
    crypto,
    machine: keyPair(),
    serverPublicKey: decodeKey(publicKey),
    random: randomBytes,
    now: Date.now,
  });
  cleanups.push(() => channel.close());
  const inbox: ServerMessage[] = [];
  channel.onMessage((m) => inbox.push(m));
  channel.send({
    type: 'register',
    nodeKey: b64(node.publicKey),
    discoKey: b64(randomBytes(32)),
    hostname,
    authKey,
  });
  await waitFor('registered', () => inbox.some((m) => m.type === 'register-result'));
  expect(inbox.find((m) => m.type === 'register-result')).toMatchObject({ status: 'ok' });
  channel.send({ type: 'map', endpoints: [] });
  const full = await waitFor('a full map', () => inbox.find((m) => m.type === 'full-map'));
  return { node, relays: (full as Extract<ServerMessage, { type: 'full-map' }>).map.relays };
}

describe('relay regions across burrow-server instances', () => {
  it('each instance is a region in every map, and devices homed on different instances reach each other', async () => {
    const pg = await startPgCluster();
    cleanups.push(() => pg.stop());
    await pg.psql('CREATE DATABASE burrow');
    const db = `postgres://${pg.user}@/burrow?host=${encodeURIComponent(pg.dir)}`;
    const dir = mkdtempSync(join(tmpdir(), 'burrow-regions-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const keyPath = join(dir, 'server.key');
    const start = async (region: { id: number; name: string }, relays: RelayRegion[]) => {
      const running = await startServer({
        db,
        keyPath,
        host: '127.0.0.1',
        port: 0,
        pollMs: 25,
        region,
        relays,
      });
      cleanups.push(() => running.close());
      return running;
    };
    // The west instance does not know east's URL before east starts: it is given it afterwards,
    // as an operator would list it (the same list for both: each drops its own entry).
    const west = await start({ id: 1, name: 'west' }, []);
    const placeholder = { id: 2, name: 'east', url: 'http://127.0.0.1:9', publicKey: west.relayPublicKey };
    const east = await start({ id: 2, name: 'east' }, [
      { id: 1, name: 'west', url: west.url, publicKey: west.relayPublicKey },
      placeholder,
    ]);
    expect(east.relayPublicKey).toBe(west.relayPublicKey); // one key file, shared

    let out = '';
    await main(['users', 'create', 'alice', '--network', 'home', '--db', db], {
      out: () => {},
      err: () => {},
    });
    await main(['authkeys', 'create', '--user', 'alice', '--reusable', '--db', db], {
      out: (t) => (out += t),
      err: () => {},
    });
    const authKey = out.trim();

    const laptop = await register(west, authKey, 'laptop');
    const phone = await register(east, authKey, 'phone');
    // East's map: west as configured, and east itself (its own entry is itself, not the placeholder).
    expect(phone.relays.map((r) => [r.id, r.name, r.url])).toEqual([
      [1, 'west', west.url],
      [2, 'east', east.url],
    ]);
    expect(laptop.relays.map((r) => [r.id, r.name, r.url])).toEqual([[1, 'west', west.url]]);

    // The laptop is homed on west, the phone on east. The laptop sends to the phone through east
    // (a second connection, to the peer's home region); the phone answers through west. Each
    // instance's relay serves devices registered through the other: one database.
    const at = (server: RunningServer) => ({
      url: server.url,
      relayPublicKey: decodeKey(server.relayPublicKey),
    });
    const laptopHome = relayDevice(at(west), { node: laptop.node });
    const phoneHome = relayDevice(at(east), { node: phone.node });
    await Promise.all([laptopHome.client.ready(), phoneHome.client.ready()]);
    const laptopToEast = relayDevice(at(east), { node: laptop.node });
    const phoneToWest = relayDevice(at(west), { node: phone.node });
    await Promise.all([laptopToEast.client.ready(), phoneToWest.client.ready()]);
    // A second connection with the same key replaces the first on that relay only: the homes stay.
    expect(laptopHome.client.connected && phoneHome.client.connected).toBe(true);
    laptopToEast.client.send(phone.node.publicKey, new Uint8Array([1, 2]));
    await waitFor('the phone to receive through east', () => phoneHome.received.length === 1);
    expect(phoneHome.received[0]!.src).toEqual(laptop.node.publicKey);
    phoneToWest.client.send(laptop.node.publicKey, new Uint8Array([3]));
    await waitFor('the laptop to receive through west', () => laptopHome.received.length === 1);
    expect(laptopHome.received[0]!.src).toEqual(phone.node.publicKey);
  }, 60_000);
});
