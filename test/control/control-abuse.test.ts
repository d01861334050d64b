/**
 * Strangers on the control protocol against the real burrow-server process, with its default
 * limits: what one anonymous client can make the server hold (login sessions, waiting logins, open
 * channels) and how much handshake work it can cause.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCleanups, sleep, waitFor } from '../support/control-lab.js';
import {
  controlKey,
  http,
  isRegisterResult,
  metric,
  type RawChannel,
  rawChannel,
} from '../support/raw-control.js';
import { serverProcess } from '../support/server-process.js';

afterEach(runCleanups);

// The first start may compile the server; do it once, outside the timed tests.
beforeAll(async () => {
  await serverProcess();
  await runCleanups();
}, 180_000);

const loginRows = (db: string) => {
  const raw = new Database(db, { readonly: true });
  const { n } = raw.prepare('SELECT count(*) AS n FROM login_sessions').get() as { n: number };
  raw.close();
  return n;
};

const urlOf = (m: unknown) => (m as { url?: string }).url;

describe('strangers on the control protocol', () => {
  it('one channel repeating key-less registrations holds one login link, and is closed when it goes on', async () => {
    const server = await serverProcess();
    const key = await controlKey(server.url);
    const c = await rawChannel(server.url, key);
    for (let i = 0; i < 10; i++) c.register(`laptop${i}`);
    await c.next(isRegisterResult, 9);
    const links = c.inbox.filter(isRegisterResult).map(urlOf);
    expect(links.every((u) => u !== undefined)).toBe(true);
    expect(await metric(server.url, 'burrow_control_pending_logins')).toBe(1);
    // Only the newest link works; every earlier one was ended by the next request.
    expect((await http(links.at(-1)!)).status).toBe(200);
    for (const old of links.slice(0, -1)) expect((await http(old!)).status).toBe(410);

    // The flood goes on: the channel is closed with the reason, its last link with it.
    for (let i = 0; i < 300; i++) c.register(`laptop${i}`);
    await c.closed;
    expect(c.inbox.at(-1)).toEqual({
      type: 'error',
      reason: 'closing: too many registrations on this connection',
    });
    expect(c.inbox.filter(isRegisterResult)).toHaveLength(10);
    expect(loginRows(server.db)).toBeLessThanOrEqual(10);
    await waitFor('the link to end', async () => (await http(links.at(-1)!)).status === 410);
    expect(await metric(server.url, 'burrow_control_pending_logins')).toBe(0);
  });

  it('limits key-less registrations per address across channels', async () => {
    const server = await serverProcess();
    const key = await controlKey(server.url);
    const results = [];
    for (let i = 0; i < 12; i++) {
      const c = await rawChannel(server.url, key);
      c.register();
      results.push(await c.next(isRegisterResult));
    }
    expect(results.slice(0, 10).every((r) => (r as { status: string }).status === 'login-required')).toBe(
      true,
    );
    expect(results.slice(10)).toEqual(
      Array(2).fill({
        type: 'register-result',
        status: 'refused',
        reason: 'too many sign-in requests from your address: wait a minute and try again',
      }),
    );
  });

  it("refuses an address's handshake flood with 429s before any key work, and keeps serving", async () => {
    const server = await serverProcess();
    const key = await controlKey(server.url);
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, () =>
        rawChannel(server.url, key).then(
          (c) => {
            c.channel.close();
            return 'open';
          },
          (e: Error) => e.message,
        ),
      ),
    );
    const opened = outcomes.filter((o) => o === 'open').length;
    expect(opened).toBeGreaterThanOrEqual(40); // the burst a NAT full of devices needs
    expect(opened).toBeLessThanOrEqual(70);
    expect(outcomes.filter((o) => /429/.test(o)).length).toBe(300 - opened);
    expect(await metric(server.url, 'burrow_control_handshakes_refused_total{reason="rate-limited"}')).toBe(
      300 - opened,
    );
    expect((await fetch(`${server.url}/health`)).ok).toBe(true);
  });

  it('holds at most 64 unregistered channels per address, and closes each that does not register in 30 s', async () => {
    const server = await serverProcess();
    const key = await controlKey(server.url);
    const open: RawChannel[] = [];
    const tryOpen = async () => {
      const c = await rawChannel(server.url, key).catch(() => null);
      if (c) open.push(c);
    };
    await Promise.all(Array.from({ length: 50 }, tryOpen)); // the handshake burst
    for (let i = 0; i < 25; i++) {
      await sleep(110); // within the handshake rate (10/s)
      await tryOpen();
    }
    const started = Date.now();
    const refusedAtOnce = await Promise.all(
      open.map((c) => Promise.race([c.closed.then((reason) => reason), sleep(500).then(() => null)])),
    );
    const kept = open.filter((_, i) => refusedAtOnce[i] === null);
    expect(kept).toHaveLength(64);
    const errorOf = (c: RawChannel) =>
      (c.inbox.find((m) => m.type === 'error') as { reason?: string })?.reason;
    expect(open.filter((_, i) => refusedAtOnce[i] !== null).map(errorOf)).toEqual(
      Array(open.length - 64).fill(
        expect.stringMatching(/too many unregistered connections from your address/),
      ),
    );
    expect(await metric(server.url, 'burrow_control_unregistered_channels')).toBe(64);
    await Promise.all(kept.map((c) => c.closed));
    expect(Date.now() - started).toBeLessThan(31_000);
    expect(new Set(kept.map(errorOf))).toEqual(new Set(['closing: the device did not register within 30 s']));
    expect(await metric(server.url, 'burrow_control_unregistered_channels')).toBe(0);
  }, 60_000);
});
