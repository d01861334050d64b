import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FirstFrameReader } from '../../src/control/framing.js';
import { serverHandshake } from '../../src/control/noise-session.js';
import { randomBytes } from '../../src/crypto/index.js';
import type { RelayVersion } from '../../src/relay/frames.js';
import {
  encodeRelayHello,
  parseClientHello,
  RELAY_PROLOGUE,
  RELAY_UPGRADE,
  RELAY_VERSIONS_HEADER,
} from '../../src/relay/hello.js';
import { decodeKey } from '../../src/wireguard/keys.js';
import {
  afterTest,
  anyKey,
  crypto,
  device,
  keyPair,
  runCleanups,
  startRelay,
  type TestDevice,
  waitFor,
} from '../../test/support/relay-lab.js';

afterEach(runCleanups);

async function delivered(from: TestDevice, to: TestDevice): Promise<void> {
  const before = to.received.length;
  expect(from.client.send(to.node.publicKey, randomBytes(80))).toBe(true);
  await waitFor('a packet through the relay', () => to.received.length > before);
}

describe('relay client', () => {
  it('reconnects after the relay restarts on the same port and key, and traffic resumes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-relay-'));
    afterTest(() => rmSync(dir, { recursive: true, force: true }));
    const keyPath = join(dir, 'relay.key');
    let running = await startRelay({ host: '127.0.0.1', port: 0, keyPath, allowed: anyKey });
    afterTest(() => running.close());
    const port = Number(new URL(running.url).port);
    const relay = { url: running.url, relayPublicKey: decodeKey(running.publicKey) };
    const a = device(relay);
    const b = device(relay);
    const changes: string[] = [];
    a.client.onConnectionChange((up, reason) => changes.push(up ? 'up' : `down: ${reason}`));
    await Promise.all([a.client.ready(), b.client.ready()]);
    await delivered(a, b);

    await running.close();
    await waitFor('both to notice', () => !a.client.connected && !b.client.connected);
    expect(a.client.send(b.node.publicKey, randomBytes(80))).toBe(false);
    expect(a.client.stats().dropped.disconnected).toBe(1);
    expect(a.health).toContain('closing: the relay is shutting down');

    running = await startRelay({ host: '127.0.0.1', port, keyPath, allowed: anyKey });
    expect(decodeKey(running.publicKey)).toEqual(relay.relayPublicKey);
    await Promise.all([a.client.ready(), b.client.ready()]);
    await delivered(a, b);
    await delivered(b, a);
    expect(a.client.stats().connects).toBe(2);
    expect(changes[0]).toBe('up');
    expect(changes[1]).toMatch(/^down: /);
    expect(changes.at(-1)).toBe('up');
  });

  it('packets sent before its first connection wait for it, the newest 16', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-relay-'));
    afterTest(() => rmSync(dir, { recursive: true, force: true }));
    const running = await startRelay({
      host: '127.0.0.1',
      port: 0,
      keyPath: join(dir, 'relay.key'),
      allowed: anyKey,
    });
    afterTest(() => running.close());
    const relay = { url: running.url, relayPublicKey: decodeKey(running.publicKey) };
    const b = device(relay);
    await b.client.ready();
    // A peer's first handshake goes out while its relay connection is still being made.
    const a = device(relay);
    expect(a.client.connected).toBe(false);
    for (let i = 0; i < 20; i++)
      expect(a.client.send(b.node.publicKey, Uint8Array.of(i, 1, 2, 3))).toBe(true);
    await a.client.ready();
    await waitFor('the held packets', () => b.received.length >= 16);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.received.map((r) => r.packet[0])).toEqual([...Array(16).keys()].map((i) => i + 4));
    expect(a.client.stats().dropped.disconnected).toBe(4);
  });

  it('keeps retrying while the relay is down, and connects once it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-relay-'));
    afterTest(() => rmSync(dir, { recursive: true, force: true }));
    const keyPath = join(dir, 'relay.key');
    const first = await startRelay({ host: '127.0.0.1', port: 0, keyPath, allowed: anyKey });
    const port = Number(new URL(first.url).port);
    const relay = { url: first.url, relayPublicKey: decodeKey(first.publicKey) };
    await first.close();
    const downs: string[] = [];
    const a = device(relay, { minBackoffMs: 10, maxBackoffMs: 80 });
    a.client.onConnectionChange((up, reason) => !up && downs.push(reason));
    await new Promise((r) => setTimeout(r, 400));
    expect(a.client.connected).toBe(false);
    const again = await startRelay({ host: '127.0.0.1', port, keyPath, allowed: anyKey });
    afterTest(() => again.close());
    await a.client.ready();
    // Failed attempts never counted as connections, and nothing was reported as lost.
    expect(a.client.stats().connects).toBe(1);
    expect(downs).toEqual([]);
  });

  /**
   * A relay that completes the handshake and then ignores everything: it lists `versions` in its
   * 101 (none, like a relay from before version 2, unless told), answers each hello with its own
   * version or `answer`, and records the versions it was asked for.
   */
  async function handshakeOnlyRelay(options: { versions?: string; answer?: RelayVersion } = {}) {
    const relayKey = keyPair();
    const http = createServer();
    const accepted: Socket[] = [];
    const asked: number[] = [];
    http.on('upgrade', (_req, socket: Socket) => {
      accepted.push(socket);
      const versions =
        options.versions === undefined ? '' : `${RELAY_VERSIONS_HEADER}: ${options.versions}\r\n`;
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${RELAY_UPGRADE}\r\nConnection: Upgrade\r\n${versions}\r\n`,
      );
      const first = new FirstFrameReader(1024);
      socket.on('data', (d: Buffer) => {
        const got = first.push(d);
        if (got === null) return;
        const hello = serverHandshake(crypto, relayKey, got.frame, randomBytes, RELAY_PROLOGUE);
        const version = parseClientHello(hello!.payload)!.version;
        asked.push(version);
        socket.write(encodeFrame(hello!.reply(encodeRelayHello(options.answer ?? version)).message));
        socket.removeAllListeners('data');
        socket.resume();
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    afterTest(async () => {
      for (const s of accepted) s.destroy();
      await new Promise((r) => http.close(r));
    });
    const { port } = http.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, relayPublicKey: relayKey.publicKey, asked };
  }

  it('notices a relay that stops answering pings, and reconnects', async () => {
    const relay = await handshakeOnlyRelay();
    const a = device(relay, { keepaliveMs: 100 });
    const downs: string[] = [];
    a.client.onConnectionChange((up, reason) => !up && downs.push(reason));
    await waitFor('a second connection', () => a.client.stats().connects >= 2);
    expect(downs[0]).toBe('the relay stopped answering pings');
  });

  it('asks for version 2 only from a relay that lists it, and speaks what the hellos agree', async () => {
    const older = await handshakeOnlyRelay();
    const a = device(older);
    await a.client.ready();
    expect(older.asked).toEqual([1]);
    expect(a.client.version).toBe(1);
    const current = await handshakeOnlyRelay({ versions: '1, 2' });
    const b = device(current);
    await b.client.ready();
    expect(current.asked).toEqual([2]);
    expect(b.client.version).toBe(2);
  });

  it('refuses a relay whose hello answers another version than the one asked for', async () => {
    const relay = await handshakeOnlyRelay({ versions: '1, 2', answer: 1 });
    const a = device(relay);
    await waitFor('two attempts', () => relay.asked.length >= 2);
    expect(a.client.stats().connects).toBe(0);
    expect(relay.asked.every((v) => v === 2)).toBe(true);
  });

  it('drops sends beyond its own queue bound instead of buffering them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-relay-'));
    afterTest(() => rmSync(dir, { recursive: true, force: true }));
    const running = await startRelay({
      host: '127.0.0.1',
      port: 0,
      keyPath: join(dir, 'relay.key'),
      limits: { bytesPerSecond: 64 * 1024, byteBurst: 64 * 1024 },
      allowed: anyKey,
    });
    afterTest(() => running.close());
    const relay = { url: running.url, relayPublicKey: decodeKey(running.publicKey) };
    const a = device(relay, { maxQueueBytes: 64 * 1024 });
    const b = device(relay);
    await Promise.all([a.client.ready(), b.client.ready()]);
    const packet = randomBytes(1400);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) if (a.client.send(b.node.publicKey, packet)) accepted++;
    expect(a.client.stats().dropped.queueFull).toBe(20_000 - accepted);
    expect(accepted).toBeLessThan(20_000);
  });
});
