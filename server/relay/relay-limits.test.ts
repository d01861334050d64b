import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/control/framing.js';
import { randomBytes } from '../../src/crypto/index.js';
import { encodePing, encodeSend, MAX_SEALED_RELAY_FRAME } from '../../src/relay/frames.js';
import {
  closedBy,
  connectedDevice,
  firstMessage,
  handshakeAnswered,
  keyPair,
  rawClient,
  rawUpgrade,
  runCleanups,
  sleep,
  startTestRelay,
  type TestDevice,
  waitFor,
} from '../../test/support/relay-lab.js';

afterEach(runCleanups);

/** Asserts that a fresh packet each way still gets through. */
async function stillExchanging(a: TestDevice, b: TestDevice): Promise<void> {
  const [na, nb] = [a.received.length, b.received.length];
  a.client.send(b.node.publicKey, randomBytes(64));
  b.client.send(a.node.publicKey, randomBytes(64));
  await waitFor('traffic both ways', () => a.received.length > na && b.received.length > nb);
}

describe('relay under bad input', () => {
  it('refuses and counts garbage, replayed and stale first messages', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const b = await connectedDevice(relay);

    const garbage = await rawUpgrade(relay.port);
    garbage.write(randomBytes(600));
    garbage.write(encodeFrame(randomBytes(200)));
    await closedBy(garbage);

    const good = firstMessage(relay).message;
    expect(await handshakeAnswered(relay, good)).toBe(true);
    expect(await handshakeAnswered(relay, good)).toBe(false);
    const stale = firstMessage(relay, undefined, Date.now() - 10 * 60_000).message;
    expect(await handshakeAnswered(relay, stale)).toBe(false);
    const future = firstMessage(relay, undefined, Date.now() + 10 * 60_000).message;
    expect(await handshakeAnswered(relay, future)).toBe(false);

    expect(relay.relay.stats().refused).toMatchObject({ handshake: 1, replayed: 1, stale: 2 });
    await stillExchanging(a, b);
  });

  it('answers 429 to an address making handshakes faster than allowed, before any crypto', async () => {
    const relay = await startTestRelay({ handshakesPerSecond: 1, handshakeBurst: 2 });
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = await rawUpgrade(relay.port);
      const first = new Promise<string>((r) => socket.once('data', (d: Buffer) => r(d.toString('latin1'))));
      socket.resume();
      answers.push((await first).split('\r\n')[0]!);
    }
    expect(answers).toEqual([
      'HTTP/1.1 101 Switching Protocols',
      'HTTP/1.1 101 Switching Protocols',
      'HTTP/1.1 429 Too Many Requests',
    ]);
    expect(relay.relay.stats().refused.rateLimited).toBe(1);
  });

  it('closes a client that does not finish its handshake in time', async () => {
    const relay = await startTestRelay({ handshakeTimeoutMs: 100 });
    const silent = await rawUpgrade(relay.port);
    await closedBy(silent);
    expect(relay.relay.stats().refused.timeout).toBe(1);
  });

  it('closes only the client that sends a malformed, oversize or undecryptable frame', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const b = await connectedDevice(relay);

    const malformed = await rawClient(relay);
    malformed.sendPlain(Uint8Array.of(0x81, 1, 2, 3));
    await malformed.closed;
    expect(malformed.frames).toEqual([
      { type: 'health', message: 'closing: malformed relay frame: unknown-type' },
    ]);

    const truncated = await rawClient(relay);
    truncated.sendPlain(encodePing(1).subarray(0, 3));
    await truncated.closed;

    const oversize = await rawClient(relay);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, MAX_SEALED_RELAY_FRAME + 1);
    oversize.socket.write(header);
    await oversize.closed;

    const forged = await rawClient(relay);
    forged.socket.write(encodeFrame(randomBytes(100)));
    await forged.closed;

    expect(relay.relay.stats().closed).toMatchObject({ malformed: 2, oversize: 1, undecryptable: 1 });
    expect(relay.relay.stats().clients).toBe(2);
    await stillExchanging(a, b);
  });

  it('slows a flooding client to its rate while another pair keeps exchanging', async () => {
    const rate = 256 * 1024;
    const burst = 128 * 1024;
    const relay = await startTestRelay({ bytesPerSecond: rate, byteBurst: burst });
    const [flooder, victim, c, d] = await Promise.all([1, 2, 3, 4].map(() => connectedDevice(relay)));
    const packet = randomBytes(1400);
    const start = performance.now();
    let flooding = true;
    const flood = (async () => {
      while (flooding) {
        for (let i = 0; i < 200; i++) flooder!.client.send(victim!.node.publicKey, packet);
        await sleep(5);
      }
    })();
    let sent = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 5; i++, sent++) c!.client.send(d!.node.publicKey, randomBytes(200));
      await sleep(50);
    }
    await waitFor('the steady pair to get everything', () => d!.received.length === sent);
    const seconds = (performance.now() - start) / 1000;
    flooding = false;
    await flood;
    const floodBytes = victim!.received.length * (1400 + 1 + 32 + 16 + 4);
    // Sealed frame bytes count against the rate; allow for the burst and some timer slack.
    expect(floodBytes).toBeLessThanOrEqual(burst + rate * seconds * 1.1 + 1500);
    expect(floodBytes).toBeGreaterThan(rate * seconds * 0.5);
    expect(relay.relay.stats().rateLimited).toBeGreaterThan(0);
    expect(flooder!.client.stats().dropped.queueFull).toBeGreaterThan(0);
  });

  it('drops packets to a reader that stopped reading, holding no more than the queue bound', async () => {
    const maxQueueBytes = 256 * 1024;
    const relay = await startTestRelay({
      maxQueueBytes,
      bytesPerSecond: 1e9,
      byteBurst: 1e8,
      packetsPerSecond: 1e7,
      packetBurst: 1e6,
    });
    const sender = await connectedDevice(relay, { maxQueueBytes: 4 << 20 });
    const slowKey = keyPair();
    const slow = await rawClient(relay, slowKey);
    slow.socket.pause();
    const packet = randomBytes(1400);
    let maxQueued = 0;
    for (let round = 0; round < 400 && relay.relay.stats().dropped.queueFull < 1000; round++) {
      for (let i = 0; i < 100; i++) sender.client.send(slowKey.publicKey, packet);
      await sleep(2);
      maxQueued = Math.max(maxQueued, relay.relay.stats().queuedBytes);
    }
    const stats = relay.relay.stats();
    expect(stats.dropped.queueFull).toBeGreaterThanOrEqual(1000);
    expect(maxQueued).toBeGreaterThan(maxQueueBytes / 2);
    expect(maxQueued).toBeLessThanOrEqual(maxQueueBytes + MAX_SEALED_RELAY_FRAME + 4);
    expect(stats.clients).toBe(2);
  });

  it('keeps serving a sender whose packets have nowhere to go', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const b = await connectedDevice(relay);
    const raw = await rawClient(relay);
    for (let i = 0; i < 50; i++) raw.sendPlain(encodeSend(randomBytes(32), randomBytes(10)));
    await waitFor('peer-gone answers', () => raw.frames.length === 50);
    expect(raw.frames.every((f) => f.type === 'peer-gone')).toBe(true);
    await stillExchanging(a, b);
  });
});
