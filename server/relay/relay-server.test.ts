import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/crypto/index.js';
import { type RelayFrame, SendBatch } from '../../src/relay/frames.js';
import {
  connectedDevice,
  device,
  keyPair,
  type RawClient,
  rawClient,
  runCleanups,
  sleep,
  startTestRelay,
  type TestDevice,
  waitFor,
} from '../../test/support/relay-lab.js';

afterEach(runCleanups);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Sends `count` distinct packets from `from` to `to` and waits until `to` has them all. */
async function exchange(from: TestDevice, to: TestDevice, count = 20): Promise<void> {
  const before = to.received.length;
  const sent = Array.from({ length: count }, (_, i) => randomBytes(100 + i));
  for (const p of sent) expect(from.client.send(to.node.publicKey, p)).toBe(true);
  await waitFor('packets to arrive', () => to.received.length >= before + count);
  const got = to.received.slice(before);
  expect(got.map((r) => hex(r.packet))).toEqual(sent.map(hex));
  for (const r of got) expect(hex(r.src)).toBe(hex(from.node.publicKey));
}

describe('relay forwarding', () => {
  it('carries packets both ways, stamped with the true sender key', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const b = await connectedDevice(relay);
    await exchange(a, b);
    await exchange(b, a);
    const stats = relay.relay.stats();
    expect(stats).toMatchObject({ clients: 2, accepted: 2, forwardedPackets: 40 });
    expect(stats.forwardedBytes).toBe(2 * (20 * 100 + (19 * 20) / 2));
  });

  it('refuses a client claiming a node key whose private half it does not hold', async () => {
    const relay = await startTestRelay();
    const victim = keyPair();
    const impostor = device(
      { url: relay.url, relayPublicKey: relay.relayKey.publicKey },
      { node: { privateKey: keyPair().privateKey, publicKey: victim.publicKey } },
    );
    await waitFor('refusals', () => relay.relay.stats().refused.handshake >= 2);
    expect(impostor.client.connected).toBe(false);
    expect(impostor.client.stats().connects).toBe(0);
    expect(relay.relay.stats().clients).toBe(0);
  });

  it('refuses a relay that cannot prove the pinned key', async () => {
    const relay = await startTestRelay();
    const d = device({ url: relay.url, relayPublicKey: keyPair().publicKey });
    await waitFor('refusals', () => relay.relay.stats().refused.handshake >= 2);
    expect(d.client.stats().connects).toBe(0);
  });

  it('lets a newer connection for a node key replace the older one', async () => {
    const relay = await startTestRelay();
    const node = keyPair();
    const sender = await connectedDevice(relay);
    const older = await connectedDevice(relay, { node });
    // Stop the older one from reconnecting once it is told, so that the two do not take turns.
    older.client.onHealth((message) => {
      older.health.push(message);
      older.client.close();
    });
    const newer = await connectedDevice(relay, { node });
    await waitFor('the older connection to be told', () => older.health.length > 0);
    expect(older.health[0]).toMatch(/replaced by a newer connection/);
    await exchange(sender, newer);
    expect(older.received).toHaveLength(0);
    expect(relay.relay.stats()).toMatchObject({ clients: 2, closed: { replaced: 1 } });
  });

  it('answers a send to an unconnected key with peer-gone, once a frame, and counts each packet', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const nobody = keyPair().publicKey;
    // Sent in one turn, the two go in one batch frame.
    a.client.send(nobody, Uint8Array.of(1, 2, 3));
    a.client.send(nobody, Uint8Array.of(4));
    await waitFor('peer-gone', () => a.peerGone.length === 1);
    a.client.send(nobody, Uint8Array.of(5));
    await waitFor('peer-gone', () => a.peerGone.length === 2);
    expect(hex(a.peerGone[0]!)).toBe(hex(nobody));
    expect(relay.relay.stats().dropped.unknownDestination).toBe(3);
  });

  it('tells the other side nothing when a client leaves, but later sends get peer-gone', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const b = await connectedDevice(relay);
    await exchange(a, b, 1);
    b.client.close();
    await waitFor('b to leave', () => relay.relay.stats().clients === 1);
    a.client.send(b.node.publicKey, Uint8Array.of(9));
    await waitFor('peer-gone', () => a.peerGone.length === 1);
    expect(relay.relay.stats().closed.disconnected).toBe(1);
  });

  it('measures the round trip with ping', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const rtt = await a.client.ping();
    expect(rtt).toBeGreaterThan(0);
    expect(rtt).toBeLessThan(1000);
    a.client.close();
    await expect(a.client.ping()).rejects.toThrow(/not connected/);
    await sleep(10);
  });
});

describe('relay protocol versions', () => {
  /** Sends `count` packets from `from` to the raw client `to` in one turn; resolves with its frames. */
  async function framesTo(from: TestDevice, to: RawClient, count: number) {
    const sent = Array.from({ length: count }, (_, i) => randomBytes(50 + i));
    for (const p of sent) from.client.send(to.node.publicKey, p);
    await waitFor('the packets', () => packetsOf(to.frames).length >= count);
    expect(packetsOf(to.frames).map(hex)).toEqual(sent.map(hex));
    return to.frames;
  }

  const packetsOf = (frames: RelayFrame[]) =>
    frames.flatMap((f) => (f.type === 'recv' ? [f.packet] : f.type === 'recv-batch' ? f.packets : []));

  it('speaks version 2 with devices that ask for it, and version 1 with those that do not', async () => {
    const relay = await startTestRelay();
    const current = await connectedDevice(relay);
    const older = await connectedDevice(relay, { maxVersion: 1 });
    expect(current.client.version).toBe(2);
    expect(older.client.version).toBe(1);
    await exchange(current, older);
    await exchange(older, current);
  });

  it('batches to a device of version 2 and sends single frames to one of version 1, in order', async () => {
    const relay = await startTestRelay();
    const sender = await connectedDevice(relay);
    const batched = await rawClient(relay, keyPair(), 2);
    const frames = await framesTo(sender, batched, 30);
    expect(frames.map((f) => f.type)).toEqual(['recv-batch']);
    expect(frames[0]!.type === 'recv-batch' && hex(frames[0]!.src)).toBe(hex(sender.node.publicKey));
    const single = await rawClient(relay, keyPair(), 1);
    const split = await framesTo(sender, single, 30);
    expect(split.every((f) => f.type === 'recv' && hex(f.src) === hex(sender.node.publicKey))).toBe(true);
    expect(relay.relay.stats()).toMatchObject({ forwardedPackets: 60, forwardedFrames: 31 });
  });

  it('counts every packet of a batch against the packet rate', async () => {
    const packetsPerSecond = 400;
    const packetBurst = 40;
    const relay = await startTestRelay({ packetsPerSecond, packetBurst });
    const sender = await connectedDevice(relay, { maxQueueBytes: 64 << 20 });
    const receiver = await connectedDevice(relay);
    const start = performance.now();
    // Far more than the rate allows, 50 a batch.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 50; i++) sender.client.send(receiver.node.publicKey, randomBytes(40));
      await sleep(10);
    }
    await sleep(500);
    const seconds = (performance.now() - start) / 1000;
    const got = receiver.received.length;
    // A frame is charged as one packet before it is opened and its others after: the bucket may
    // go into debt by one batch.
    expect(got).toBeLessThanOrEqual(packetBurst + packetsPerSecond * seconds * 1.1 + 50);
    expect(got).toBeGreaterThan(packetsPerSecond * seconds * 0.5);
    expect(relay.relay.stats().rateLimited).toBeGreaterThan(0);
  });

  it('closes a device that sends a malformed batch, or a batch on version 1, and no one else', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const b = await connectedDevice(relay);
    const batch = new SendBatch();
    batch.add(b.node.publicKey, Uint8Array.of(1, 2, 3));
    const frame = batch.take().slice();

    const cut = await rawClient(relay, keyPair(), 2);
    cut.sendPlain(frame.subarray(0, frame.length - 1));
    await cut.closed;
    expect(cut.frames).toEqual([{ type: 'health', message: 'closing: malformed relay frame: truncated' }]);

    const older = await rawClient(relay, keyPair(), 1);
    older.sendPlain(frame);
    await older.closed;
    expect(older.frames).toEqual([
      { type: 'health', message: 'closing: malformed relay frame: unknown-type' },
    ]);

    expect(b.received).toHaveLength(0);
    expect(relay.relay.stats().closed.malformed).toBe(2);
    await exchange(a, b, 3);
  });
});
