/**
 * `burrow-server relay` as a real process following a real burrow-server's key feed: it serves the
 * devices registered there and nobody else, drops a device the admin CLI deletes, refuses to start
 * without a coordination server, and serves nobody if that server does not list its key.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeKey } from '../../src/wireguard/keys.js';
import { BURROW_SERVER } from '../support/programs.js';
import {
  cleanup,
  delivered,
  deployment,
  keyPair,
  relayClient,
  relayKeyFile,
  sleep,
  standaloneRelay,
  waitFor,
} from '../support/relay-deployment.js';

const run = promisify(execFile);

afterEach(cleanup);

// The first run of bin/burrow-server may compile the server: once, outside the timed tests.
beforeAll(async () => {
  await run(BURROW_SERVER, ['--help']).catch(() => undefined);
}, 180_000);

describe('burrow-server relay', () => {
  it('serves the devices its coordination server registered, refuses others, and drops a deleted one', async () => {
    const key = relayKeyFile();
    // The relay's region in the server's relay map: its URL is not needed for the key feed.
    const d = await deployment([{ id: 5, url: 'http://relay.invalid', publicKey: key.publicKey }]);
    const relay = await standaloneRelay([
      '--key',
      key.path,
      '--control-url',
      d.url,
      '--control-key',
      d.controlKey,
    ]);
    await waitFor('the relay to follow the server', () => relay.stderr().includes('following'));
    const relayKey = decodeKey(key.publicKey);
    const a = relayClient(relay.url, relayKey, (await d.register('a')).node);
    const b = relayClient(relay.url, relayKey, (await d.register('b')).node);
    await Promise.all([a.client.ready(), b.client.ready()]);
    await delivered(a, b);
    await delivered(b, a);

    // A stranger's client is never let in: what it sends (held while it waits for a connection it
    // never gets) does not reach a.
    const stranger = relayClient(relay.url, relayKey, keyPair());
    const probe = Uint8Array.of(1, 2, 3, 4);
    stranger.client.send(a.node.publicKey, probe);
    await sleep(2500);
    expect(stranger.client.stats().connects).toBe(0);
    expect(a.received.some((p) => Buffer.from(p).equals(probe))).toBe(false);

    const deletedAt = Date.now();
    await d.cli('devices', 'delete', 'a');
    const droppedAt = await waitFor('a to be dropped', () => a.drops[0], 10_000);
    expect(droppedAt - deletedAt).toBeLessThan(3000);
    expect(a.health).toContain('closing: this node key may no longer use this relay');
    await sleep(500);
    expect(a.client.connected).toBe(false);
    // A device registered now is served too: the feed streams additions.
    const c = relayClient(relay.url, relayKey, (await d.register('c')).node);
    await c.client.ready();
    await delivered(c, b);

    const exited = new Promise<number | null>((r) => relay.proc.once('exit', (code) => r(code)));
    relay.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);

  it('is refused by the coordination server when its key is not in the relay map, and serves nobody', async () => {
    const listed = relayKeyFile();
    const d = await deployment([{ id: 5, url: 'http://relay.invalid', publicKey: listed.publicKey }]);
    const unlisted = relayKeyFile();
    const relay = await standaloneRelay([
      '--key',
      unlisted.path,
      '--control-url',
      d.url,
      '--control-key',
      d.controlKey,
    ]);
    await waitFor('the refusal', () => relay.stderr().includes('refused'));
    expect(relay.stderr()).toContain(`relay key ${unlisted.publicKey} is not in this server's relay map`);
    const a = relayClient(relay.url, decodeKey(unlisted.publicKey), (await d.register('a')).node);
    await sleep(1000);
    expect(a.client.stats().connects).toBe(0);
  }, 90_000);

  it('does not start without a coordination server to follow', async () => {
    const key = relayKeyFile();
    const args = ['relay', '--listen', '127.0.0.1:0', '--key', key.path];
    // An open relay would run until stopped: the timeout kills it, and the test fails.
    const refused = await run(BURROW_SERVER, args, { timeout: 10_000 }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain('--control-url URL --control-key KEY');
  }, 60_000);
});
