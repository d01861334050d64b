import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerChannel } from '../control/listener.js';
import { identity, T0, times, withTempStore } from '../store/testing.js';
import { DEFAULTS } from '../store/types.js';
import { type LoginLimits, PendingLogins } from './pending-logins.js';

const channel = () => ({}) as ServerChannel;
const noop = { completed: () => undefined, expired: () => undefined };

describe('pending logins', () => {
  const t = withTempStore();
  let now = T0;
  const made: PendingLogins[] = [];
  afterEach(() => {
    for (const p of made.splice(0)) p.stop();
    now = T0;
  });
  const pending = (limits: Partial<LoginLimits> = {}) => {
    const p = new PendingLogins(t.store, () => now, limits);
    made.push(p);
    return p;
  };
  const rows = () => {
    const db = new Database(t.path, { readonly: true });
    const n = db.prepare('SELECT count(*) AS n FROM login_sessions').get() as { n: number };
    db.close();
    return n.n;
  };
  const sessionOf = async (starting: ReturnType<PendingLogins['start']>) => {
    const start = await starting;
    if (!('sessionId' in start)) throw new Error(`refused: ${start.refused}`);
    return await t.store.getLoginSession(start.sessionId);
  };

  it('keep one login per channel: a new request ends the link of the one before', async () => {
    const p = pending({ perAddressBurst: 100 });
    const c = channel();
    const first = await sessionOf(p.start(c, '192.0.2.1', identity(), noop));
    const second = await sessionOf(p.start(c, '192.0.2.1', identity(), noop));
    expect(p.size).toBe(1);
    expect((await t.store.getLoginSession(first.id)).expiresAt).toBe(now);
    expect(second.expiresAt).toBe(now + DEFAULTS.loginSessionLifetimeMs);
    expect(second.requestedFrom).toBe('192.0.2.1');
    p.end(c);
    expect(p.size).toBe(0);
    expect((await t.store.getLoginSession(second.id)).expiresAt).toBe(now);
  });

  it('refuse past the server-wide cap, creating nothing', async () => {
    const p = pending({ maxPending: 3, perAddressBurst: 100 });
    for (let i = 0; i < 3; i++) await sessionOf(p.start(channel(), `192.0.2.${i}`, identity(), noop));
    expect(await p.start(channel(), '192.0.2.9', identity(), noop)).toEqual({
      refused: 'too many sign-ins are waiting on this server: try again later',
    });
    expect(rows()).toBe(3);
    expect(p.size).toBe(3);
  });

  it("limit each address's key-less registrations, an IPv6 /64 counting as one address", async () => {
    const p = pending({ perAddressBurst: 2, perAddressPerMinute: 1 });
    const c = channel();
    await sessionOf(p.start(channel(), '2001:db8:1:2::1', identity(), noop));
    const kept = await sessionOf(p.start(c, '2001:db8:1:2::2', identity(), noop));
    expect(await p.start(c, '2001:db8:1:2:ffff::3', identity(), noop)).toEqual({
      refused: 'too many sign-in requests from your address: wait a minute and try again',
    });
    // The refused request ended nothing: the channel's link still works.
    expect((await t.store.getLoginSession(kept.id)).expiresAt).toBeGreaterThan(now);
    await sessionOf(p.start(channel(), '2001:db8:1:3::1', identity(), noop));
    await sessionOf(p.start(channel(), '::ffff:198.51.100.1', identity(), noop));
    expect(rows()).toBe(4);
  });

  it('are watched with one query, and hand back the completed ones once the caller polls', async () => {
    const p = pending({ perAddressBurst: 1000, globalPerSecond: 1000 });
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const expired: string[] = [];
    const ids = await times(
      300,
      async (i) =>
        (
          await sessionOf(
            p.start(channel(), `10.0.${i >> 8}.${i & 255}`, identity(), {
              ...noop,
              expired: () => expired.push(`${i}`),
            }),
          )
        ).id,
    );
    expect(await p.poll()).toEqual([]);
    const { device } = await t.store.completeLoginSession(ids[7]!, ana.id, now);
    const done = await p.poll();
    expect(done.map((d) => d.deviceId)).toEqual([device.id]);
    expect(p.size).toBe(299);
    now += DEFAULTS.loginSessionLifetimeMs;
    expect(await p.poll()).toEqual([]);
    expect(expired).toHaveLength(299);
    expect(p.size).toBe(0);
  });

  it('delete expired sessions on a timer, so strangers leave no rows behind', async () => {
    const p = pending({ perAddressBurst: 100, sweepMs: 50 });
    const c = channel();
    for (let i = 0; i < 20; i++) await p.start(c, '192.0.2.1', identity(), noop);
    expect(rows()).toBe(20);
    now += 1;
    await new Promise((r) => setTimeout(r, 150));
    expect(rows()).toBe(1); // the channel's current link
  });
});
