import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FirstFrameReader } from '../../src/control/framing.js';
import { clientHandshake, serverHandshake } from '../../src/control/noise-session.js';
import { randomBytes } from '../../src/crypto/index.js';
import { KEY_FEED_PATH, KEY_FEED_PROLOGUE, KEY_FEED_UPGRADE } from '../../src/relay/key-feed.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import { afterTest, crypto, keyPair, runCleanups, sleep, waitFor } from '../../test/support/relay-lab.js';
import { identity, times, withTempStore } from '../store/testing.js';
import { KeyFeedClient } from './key-feed-client.js';
import { attachKeyFeed } from './key-feed-server.js';
import { StoreAllowedKeys } from './store-allowed-keys.js';

afterEach(runCleanups);

const b64 = (key: Uint8Array) => Buffer.from(key).toString('base64');
const encoder = new TextEncoder();

/** Listens on `port` (any if 0); returns the URL and a stop that also ends upgraded sockets. */
async function listen(http: Server, port = 0): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  http.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => http.listen(port, '127.0.0.1', r));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const s of sockets) s.destroy();
    await new Promise((r) => http.close(r));
  };
  afterTest(stop);
  return { url: `http://127.0.0.1:${(http.address() as { port: number }).port}`, stop };
}

/** A relay's side of the feed, with its log and the keys it was told to drop. */
function follower(url: string, serverPublicKey: Uint8Array, relayKey = keyPair()) {
  const log: string[] = [];
  const revoked: string[] = [];
  const client = new KeyFeedClient({
    url,
    serverPublicKey,
    relayKey,
    crypto,
    random: randomBytes,
    now: Date.now,
    minBackoffMs: 20,
    maxBackoffMs: 100,
    log: (m) => log.push(m),
  });
  afterTest(() => client.close());
  client.onRevoked((keys) => revoked.push(...keys));
  return { client, log, revoked, relayKey };
}

/** Opens an upgraded socket to the feed and sends `frame` as the first message. */
async function rawFeed(url: string, frame: Uint8Array): Promise<{ socket: Socket; status: string }> {
  const { connect } = await import('node:net');
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  afterTest(() => {
    socket.destroy();
  });
  await new Promise((r) => socket.once('connect', r));
  socket.write(
    `GET ${KEY_FEED_PATH} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${KEY_FEED_UPGRADE}\r\n\r\n`,
  );
  const status = await new Promise<string>((r) =>
    socket.once('data', (d: Buffer) => r(d.toString('latin1').split('\r\n')[0]!)),
  );
  socket.write(encodeFrame(frame));
  return { socket, status };
}

const closed = (socket: Socket) =>
  new Promise<void>((r) => {
    if (socket.destroyed) r();
    socket.once('close', () => r());
    socket.resume();
  });

describe('key feed', () => {
  const t = withTempStore();

  /** burrow-server's side: the store's keys, fed to relays whose keys are in `relayKeys`. */
  async function feedServer(relayKeys: string[], serverKey = keyPair(), port = 0) {
    const allowed = await StoreAllowedKeys.open(t.store, { now: Date.now, pollMs: 20 });
    const http = createServer();
    const feed = attachKeyFeed(http, {
      crypto,
      serverKey,
      random: randomBytes,
      now: Date.now,
      relayKeys: () => relayKeys,
      clientAddress: (request) => request.socket.remoteAddress ?? '',
      source: allowed,
    });
    const { url, stop } = await listen(http, port);
    const close = async () => {
      feed.close();
      allowed.close();
      await stop();
    };
    afterTest(close);
    return { url, serverKey, close };
  }

  it('streams the full set in parts, then changes; while the server is away the relay keeps its set', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, Date.now());
    const register = async (keyExpiry: number | null = null) =>
      await t.store.registerDevice({ ...identity(), userId: ana.id, keyExpiry }, Date.now());
    const devices = await t.store.transaction(() => times(5000, () => register()));
    const relayKey = keyPair();
    const server = await feedServer([b64(relayKey.publicKey)]);
    const relay = follower(server.url, server.serverKey.publicKey, relayKey);
    await relay.client.ready();
    expect(relay.client.size).toBe(5000); // more than one message holds
    expect(relay.client.allows(devices[4999]!.nodeKey)).toBe(true);

    const added = await register();
    await t.store.deleteDevice(devices[0]!.id, Date.now());
    await waitFor('the change to arrive', () => relay.client.allows(added.nodeKey));
    await waitFor('the deletion to arrive', () => relay.revoked.includes(devices[0]!.nodeKey));
    expect(relay.client.allows(devices[0]!.nodeKey)).toBe(false);

    // The server goes away: the relay keeps serving what it knew, and expires keys by their times.
    const expiring = await register(Date.now() + 600);
    await waitFor('the expiring key', () => relay.client.allows(expiring.nodeKey));
    await server.close();
    await waitFor('the relay to notice', () => relay.log.some((m) => m.includes('keeping the')));
    await t.store.deleteDevice(devices[1]!.id, Date.now());
    await waitFor('the expiry, with no server', () => relay.revoked.includes(expiring.nodeKey), 3000);
    expect(relay.client.allows(devices[1]!.nodeKey)).toBe(true); // nobody could tell it yet
    expect(relay.client.allows(devices[2]!.nodeKey)).toBe(true);

    // Back: the full set replaces the old one, so the deletion made meanwhile takes effect.
    await feedServer([b64(relayKey.publicKey)], server.serverKey, Number(new URL(server.url).port));
    await waitFor('the deletion made while away', () => relay.revoked.includes(devices[1]!.nodeKey), 5000);
    expect(relay.client.allows(devices[2]!.nodeKey)).toBe(true);
  }, 30_000);

  it('refuses a relay whose key is not in the relay map; that relay serves nobody', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, Date.now());
    const device = await t.store.registerDevice({ ...identity(), userId: ana.id }, Date.now());
    const server = await feedServer([b64(keyPair().publicKey)]);
    const relay = follower(server.url, server.serverKey.publicKey);
    await waitFor('the refusal', () => relay.log.some((m) => m.includes('refused')));
    expect(relay.log.find((m) => m.includes('refused'))).toContain(
      `relay key ${b64(relay.relayKey.publicKey)} is not in this server's relay map`,
    );
    expect(relay.log.find((m) => m.includes('refused'))).toContain('serving nobody');
    expect(relay.client.allows(device.nodeKey)).toBe(false);
  });

  it('follows only the server holding the pinned control key', async () => {
    const relayKey = keyPair();
    const server = await feedServer([b64(relayKey.publicKey)]);
    // A server with another key cannot even read the relay's hello, and hangs up.
    const relay = follower(server.url, keyPair().publicKey, relayKey);
    await waitFor('the failure', () => relay.log.some((m) => m.includes('connection closed')));
    await sleep(100);
    expect(relay.log.some((m) => m.includes('following'))).toBe(false);
  });

  it('closes a relay that sends anything after its hello, and handshakes that are not ones', async () => {
    const relayKey = keyPair();
    const server = await feedServer([b64(relayKey.publicKey)]);
    const hello = encoder.encode(JSON.stringify({ v: 1, ts: Date.now() }));
    const handshake = clientHandshake(
      crypto,
      relayKey,
      server.serverKey.publicKey,
      hello,
      randomBytes,
      KEY_FEED_PROLOGUE,
    );
    const { socket } = await rawFeed(server.url, handshake.message);
    const first = new FirstFrameReader(1 << 20);
    const reply = await new Promise<Uint8Array>((resolve) =>
      socket.on('data', (d: Buffer) => {
        const got = first.push(new Uint8Array(d));
        if (got) resolve(got.frame);
      }),
    );
    const session = handshake.finish(reply)!.session;
    socket.write(encodeFrame(session.seal(encoder.encode('{"type":"keepalive"}'))));
    await closed(socket);

    // A control-channel handshake (another prologue) and garbage are not answered.
    const control = clientHandshake(crypto, relayKey, server.serverKey.publicKey, hello, randomBytes);
    await closed((await rawFeed(server.url, control.message)).socket);
    await closed((await rawFeed(server.url, randomBytes(200))).socket);
  });

  it('limits handshakes per address before any crypto', async () => {
    const server = await feedServer([]);
    const answers: string[] = [];
    for (let i = 0; i < 12; i++) answers.push((await rawFeed(server.url, randomBytes(10))).status);
    expect(answers.filter((a) => a === 'HTTP/1.1 101 Switching Protocols').length).toBe(10);
    expect(answers.at(-1)).toBe('HTTP/1.1 429 Too Many Requests');
  });
});

describe('key feed client under bad input', () => {
  /** A feed server that accepts any relay and sends it `messages` (JSON texts) after its hello. */
  async function scriptedServer(messages: string[]) {
    const serverKey: StaticKeyPair = keyPair();
    const http = createServer();
    http.on('upgrade', (_req, socket: Socket) => {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${KEY_FEED_UPGRADE}\r\nConnection: Upgrade\r\n\r\n`,
      );
      const first = new FirstFrameReader(1024);
      socket.on('data', (d: Buffer) => {
        const got = first.push(new Uint8Array(d));
        if (!got) return;
        const accepted = serverHandshake(crypto, serverKey, got.frame, randomBytes, KEY_FEED_PROLOGUE)!;
        const { message, session } = accepted.reply(encoder.encode('{"v":1,"status":"ok"}'));
        socket.write(encodeFrame(message));
        for (const m of messages) socket.write(encodeFrame(session.seal(encoder.encode(m))));
      });
    });
    return { url: (await listen(http)).url, serverKey };
  }

  it('applies nothing of a message that fails its schema, closes, and keeps the set it had', async () => {
    const [good, alsoGood] = [identity().nodeKey, identity().nodeKey];
    const server = await scriptedServer([
      JSON.stringify({ type: 'full', keys: [{ key: good, expires: null }], more: false }),
      JSON.stringify({
        type: 'changes',
        allow: [
          { key: alsoGood, expires: null },
          { key: 'not a key', expires: null },
        ],
        revoke: [good],
      }),
    ]);
    const relay = follower(server.url, server.serverKey.publicKey);
    await relay.client.ready();
    await waitFor('the bad message to close the feed', () =>
      relay.log.some((m) => m.includes('invalid message: $.allow[1].key')),
    );
    expect(relay.client.allows(good)).toBe(true);
    expect(relay.client.allows(alsoGood)).toBe(false);
    expect(relay.revoked).toEqual([]);
    await sleep(50);
  });
});
