import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/crypto/index.js';
import { device, runCleanups, serverFiles, waitFor } from '../../test/support/control-lab.js';
import { freePort } from '../../test/support/ports.js';
import { ServerChoice } from './server-choice.js';

afterEach(runCleanups);

/** A random source that always draws `byte` (0: the lowest wait of a range, 255: about the highest). */
const fixed = (byte: number) => (n: number) => new Uint8Array(n).fill(byte);

describe('ServerChoice', () => {
  it('moves on to the next URL after each failure, round after round, and back to the first on reset', () => {
    const choice = new ServerChoice(['http://a', 'http://b', 'http://c'], 100, 10_000, randomBytes);
    const seen = [choice.url];
    for (let i = 0; i < 6; i++) {
      choice.failed();
      seen.push(choice.url);
    }
    expect(seen).toEqual([
      'http://a',
      'http://b',
      'http://c',
      'http://a',
      'http://b',
      'http://c',
      'http://a',
    ]);
    choice.failed();
    choice.reset();
    expect(choice.url).toBe('http://a');
  });

  it('waits between min and 2 x min through the first round, doubling per round up to max, never less than min', () => {
    const waits = (byte: number, urls: number, n: number) => {
      const urlList = Array.from({ length: urls }, (_, i) => `http://s${i}`);
      const choice = new ServerChoice(urlList, 100, 1000, fixed(byte));
      return Array.from({ length: n }, () => choice.failed());
    };
    // One URL: a plain backoff, each failure a round.
    expect(waits(0, 1, 6)).toEqual([100, 200, 400, 500, 500, 500]);
    expect(waits(255, 1, 6).map((w) => Math.round(w / 10) * 10)).toEqual([200, 400, 800, 1000, 1000, 1000]);
    // Three URLs: every URL gets the short wait before the wait grows.
    expect(waits(0, 3, 7)).toEqual([100, 100, 100, 200, 200, 200, 400]);
    for (const w of waits(128, 2, 40)) expect(w).toBeGreaterThanOrEqual(100);
  });

  it('starts from the shortest wait again once a server serves maps, at the URL that serves them', () => {
    const choice = new ServerChoice(['http://a', 'http://b'], 100, 1000, fixed(0));
    for (let i = 0; i < 5; i++) choice.failed();
    expect(choice.url).toBe('http://b');
    choice.succeeded();
    expect(choice.url).toBe('http://b');
    expect(choice.failed()).toBe(100);
  });

  it('refuses no URLs and a backoff that could spin', () => {
    expect(() => new ServerChoice([], 100, 1000, randomBytes)).toThrow(/no control server URL/);
    expect(() => new ServerChoice(['http://a'], 0, 1000, randomBytes)).toThrow(/backoff/);
    expect(() => new ServerChoice(['http://a'], 100, 50, randomBytes)).toThrow(/backoff/);
  });
});

describe('ControlClient with several server URLs', () => {
  it('skips a dead URL, and when its instance goes away, moves to the next and gets what changed meanwhile', async () => {
    const { store, authKey, serve } = await serverFiles();
    // Two instances on one database and key, and an address where nothing listens.
    const [one, two] = [await serve(), await serve()];
    const dead = `http://127.0.0.1:${await freePort()}`;
    const key = await authKey(true);
    const a = device(dead, { hostname: 'laptop', authKey: key, serverUrls: [dead, one.url, two.url] });
    const b = device(two.url, { hostname: 'gateway', authKey: key });
    a.client.start();
    b.client.start();
    await waitFor('the laptop to see the gateway', () => a.client.netmap?.peers.length === 1);
    expect(a.client.serverPublicKey).toBe(one.publicKey); // fetched from the first live URL
    expect(a.logs.some((l) => l.includes(`${dead}:`) && l.includes(`at ${one.url}`))).toBe(true);

    await one.close();
    // Meanwhile, through the database the other instance follows: the gateway is renamed.
    const gateway = a.client.netmap!.peers[0]!;
    await store.renameDevice(gateway.id, 'router', Date.now());
    await waitFor('the rename on the laptop', () => a.client.netmap?.peers[0]?.name === 'router');
    expect(a.client.state).toEqual({ state: 'connected' });
    expect(a.logs.some((l) => l.startsWith(`control: ${one.url}:`) && l.endsWith(`at ${two.url}`))).toBe(
      true,
    );
    expect(a.states.some((s) => s.state === 'refused')).toBe(false);
  });
});
