import { describe, expect, it } from 'vitest';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { identity, randomKey, T0, times } from '../testing.js';
import { DEFAULTS } from '../types.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

describe.each(BACK_ENDS)('login sessions ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);

  it('wait for a sign-in, then register the device in the same transaction', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const id = identity('Ana Laptop');
    const session = await t.store.createLoginSession({ ...id, requestedFrom: '203.0.113.9' }, T0);
    expect(session).toEqual({
      id: session.id,
      ...id,
      requestedFrom: '203.0.113.9',
      createdAt: T0,
      expiresAt: T0 + DEFAULTS.loginSessionLifetimeMs,
      userId: null,
      completedDeviceId: null,
    });
    expect(session.id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await t.store.getLoginSession(session.id)).toEqual(session);

    const { session: done, device } = await t.store.completeLoginSession(session.id, ana.id, T0 + 1000);
    expect(device).toMatchObject({
      name: 'ana-laptop',
      userId: ana.id,
      nodeKey: id.nodeKey,
      createdAt: T0 + 1000,
    });
    expect(done).toEqual({ ...session, userId: ana.id, completedDeviceId: device.id });
    expect(await t.store.getLoginSession(session.id)).toEqual(done);
    await expect(t.store.completeLoginSession(session.id, ana.id, T0 + 2000)).rejects.toThrow(
      code('login-completed'),
    );

    await t.store.deleteDevice(device.id, T0 + 3000);
    expect(await t.store.getLoginSession(session.id)).toEqual({ ...done, completedDeviceId: null });
  });

  it('a second login from a known machine re-authenticates its device', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const id = identity('pc');
    const first = (
      await t.store.completeLoginSession((await t.store.createLoginSession(id, T0)).id, ana.id, T0)
    ).device;
    const nodeKey = randomKey();
    const again = await t.store.createLoginSession({ ...id, nodeKey }, T0 + 1);
    expect((await t.store.completeLoginSession(again.id, ana.id, T0 + 1)).device).toMatchObject({
      id: first.id,
      nodeKey,
    });
  });

  it('expire, can be ended early, and are cleaned up', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const late = await t.store.createLoginSession({ ...identity(), expiresAt: T0 + 10 }, T0);
    await expect(t.store.completeLoginSession(late.id, ana.id, T0 + 10)).rejects.toThrow(
      code('login-expired'),
    );
    const cancelled = await t.store.createLoginSession(identity(), T0);
    await t.store.expireLoginSession(cancelled.id, T0 + 5);
    expect((await t.store.getLoginSession(cancelled.id)).expiresAt).toBe(T0 + 5);
    await expect(t.store.completeLoginSession(cancelled.id, ana.id, T0 + 6)).rejects.toThrow(
      code('login-expired'),
    );
    const live = await t.store.createLoginSession(identity(), T0);

    expect(await t.store.deleteExpiredLoginSessions(T0 + 10)).toBe(2);
    await expect(t.store.getLoginSession(late.id)).rejects.toThrow(code('not-found'));
    expect((await t.store.getLoginSession(live.id)).id).toBe(live.id);
    await expect(t.store.expireLoginSession('nope', T0)).rejects.toThrow(code('not-found'));
    await expect(t.store.createLoginSession({ ...identity(), nodeKey: 'x' }, T0)).rejects.toThrow(
      code('invalid'),
    );
  });

  it('are found completed in one query, whatever their number', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const waiting = await times(500, async () => (await t.store.createLoginSession(identity(), T0)).id);
    expect((await t.store.completedLoginSessions(waiting)).size).toBe(0);
    const device = (await t.store.completeLoginSession(waiting[321]!, ana.id, T0 + 1)).device;
    expect([...(await t.store.completedLoginSessions([...waiting, 'unknown']))]).toEqual([
      [waiting[321], device.id],
    ]);
    expect((await t.store.completedLoginSessions([])).size).toBe(0);
  });

  it('a failed registration leaves the session open', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const taken = await t.store.registerDevice({ ...identity(), userId: ana.id }, T0);
    const session = await t.store.createLoginSession({ ...identity(), nodeKey: taken.nodeKey }, T0);
    await expect(t.store.completeLoginSession(session.id, ana.id, T0)).rejects.toThrow(code('duplicate-key'));
    expect(await t.store.getLoginSession(session.id)).toEqual(session);
    await expect(t.store.completeLoginSession(session.id, 'nope', T0)).rejects.toThrow(code('not-found'));
  });
});
