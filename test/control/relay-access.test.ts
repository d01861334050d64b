/**
 * Who may use burrow-server's relay, against the real server process: only registered devices with
 * unexpired node keys. A device's relay connection is dropped within a few seconds when the admin
 * CLI (another process) deletes it or expires its key, and when its node key is rotated.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BURROW_SERVER } from '../support/programs.js';
import {
  cleanup,
  delivered,
  deployment,
  keyPair,
  relayClient,
  sleep,
  type TestRelayClient,
  waitFor,
} from '../support/relay-deployment.js';

afterEach(cleanup);

// The first run of bin/burrow-server may compile the server: once, outside the timed tests.
beforeAll(async () => {
  await promisify(execFile)(BURROW_SERVER, ['--help']).catch(() => undefined);
}, 180_000);

/** Waits for `c` to be dropped; returns how long after `since` (ms) that happened. */
async function droppedAfter(c: TestRelayClient, since: number): Promise<number> {
  const at = await waitFor('the relay to drop the connection', () => c.drops.at(-1), 10_000);
  return at - since;
}

describe("burrow-server's relay", () => {
  it('refuses node keys no device is registered with: two strangers cannot exchange packets', async () => {
    const d = await deployment();
    const x = relayClient(d.url, d.relayPublicKey, keyPair());
    const y = relayClient(d.url, d.relayPublicKey, keyPair());
    await waitFor(
      'both to be refused (or, were the relay open, both to connect)',
      async () =>
        (x.client.connected && y.client.connected) ||
        (await d.metric('burrow_relay_refused{reason="notAllowed"}')) >= 4,
    );
    // Held for a first connection that never comes: it reaches nobody.
    x.client.send(y.node.publicKey, Uint8Array.of(1, 2, 3));
    await sleep(300);
    expect([x.client.stats().connects, y.client.stats().connects]).toEqual([0, 0]);
    expect(y.received).toEqual([]);
    expect(await d.metric('burrow_relay_clients')).toBe(0);
  }, 60_000);

  it('serves registered devices, and drops one within seconds of its deletion, key expiry or key rotation', async () => {
    const d = await deployment();
    const registered = async (name: string) => {
      const { node, device } = await d.register(name);
      return { device, ...relayClient(d.url, d.relayPublicKey, node) };
    };
    const [a, b, c, e] = [
      await registered('a'),
      await registered('b'),
      await registered('c'),
      await registered('e'),
    ];
    await Promise.all([a, b, c, e].map((x) => x.client.ready()));
    await delivered(a, b);
    await delivered(b, a);

    // Deleted by the admin CLI, a process of its own.
    await d.cli('devices', 'delete', 'a');
    expect(await droppedAfter(a, Date.now())).toBeLessThan(3000);
    expect(a.health).toContain('closing: this node key may no longer use this relay');

    // Its key set to expire a second from now: dropped when it does, not before.
    const expiryAt = Date.now() + 1000;
    await d.cli('devices', 'expiry', 'b', '1s');
    expect(await droppedAfter(b, expiryAt)).toBeLessThan(3000);
    expect(b.drops[0]!).toBeGreaterThanOrEqual(expiryAt - 50);

    // A new node key for c: the old one is dropped, the new one is served.
    const rotatedAt = Date.now();
    const fresh = await d.rotate(c.device);
    expect(await droppedAfter(c, rotatedAt)).toBeLessThan(3000);
    const renewed = relayClient(d.url, d.relayPublicKey, fresh);
    await renewed.client.ready();
    await delivered(renewed, e);

    // None of the three gets back in: their reconnects are refused, and e still reaches nobody of them.
    const refused = await d.metric('burrow_relay_refused{reason="notAllowed"}');
    await waitFor(
      'reconnects to be refused',
      async () => (await d.metric('burrow_relay_refused{reason="notAllowed"}')) >= refused + 3,
    );
    expect([a, b, c].map((x) => x.client.connected)).toEqual([false, false, false]);
    expect(await d.metric('burrow_relay_closed{reason="revoked"}')).toBe(3);
    expect(await d.metric('burrow_relay_clients')).toBe(2);
  }, 60_000);
});
