import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/crypto/index.js';
import {
  connectedDevice,
  device,
  keyPair,
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

  it('answers a send to an unconnected key with peer-gone, and counts it', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const nobody = keyPair().publicKey;
    a.client.send(nobody, Uint8Array.of(1, 2, 3));
    a.client.send(nobody, Uint8Array.of(4));
    await waitFor('peer-gone', () => a.peerGone.length === 2);
    expect(hex(a.peerGone[0]!)).toBe(hex(nobody));
    expect(relay.relay.stats().dropped.unknownDestination).toBe(2);
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
