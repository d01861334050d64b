import { describe, expect, it } from 'vitest';
import { identity, randomKey, T0, withTempStore } from './testing.js';
import { DEFAULTS } from './types.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

describe('login sessions', () => {
  const t = withTempStore();

  it('wait for a sign-in, then register the device in the same transaction', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const id = identity('Ana Laptop');
    const session = t.store.createLoginSession({ ...id, requestedFrom: '203.0.113.9' }, T0);
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
    expect(t.store.getLoginSession(session.id)).toEqual(session);

    const { session: done, device } = t.store.completeLoginSession(session.id, ana.id, T0 + 1000);
    expect(device).toMatchObject({
      name: 'ana-laptop',
      userId: ana.id,
      nodeKey: id.nodeKey,
      createdAt: T0 + 1000,
    });
    expect(done).toEqual({ ...session, userId: ana.id, completedDeviceId: device.id });
    expect(t.store.getLoginSession(session.id)).toEqual(done);
    expect(() => t.store.completeLoginSession(session.id, ana.id, T0 + 2000)).toThrow(
      code('login-completed'),
    );

    t.store.deleteDevice(device.id, T0 + 3000);
    expect(t.store.getLoginSession(session.id)).toEqual({ ...done, completedDeviceId: null });
  });

  it('a second login from a known machine re-authenticates its device', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const id = identity('pc');
    const first = t.store.completeLoginSession(t.store.createLoginSession(id, T0).id, ana.id, T0).device;
    const nodeKey = randomKey();
    const again = t.store.createLoginSession({ ...id, nodeKey }, T0 + 1);
    expect(t.store.completeLoginSession(again.id, ana.id, T0 + 1).device).toMatchObject({
      id: first.id,
      nodeKey,
    });
  });

  it('expire, can be ended early, and are cleaned up', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const late = t.store.createLoginSession({ ...identity(), expiresAt: T0 + 10 }, T0);
    expect(() => t.store.completeLoginSession(late.id, ana.id, T0 + 10)).toThrow(code('login-expired'));
    const cancelled = t.store.createLoginSession(identity(), T0);
    t.store.expireLoginSession(cancelled.id, T0 + 5);
    expect(t.store.getLoginSession(cancelled.id).expiresAt).toBe(T0 + 5);
    expect(() => t.store.completeLoginSession(cancelled.id, ana.id, T0 + 6)).toThrow(code('login-expired'));
    const live = t.store.createLoginSession(identity(), T0);

    expect(t.store.deleteExpiredLoginSessions(T0 + 10)).toBe(2);
    expect(() => t.store.getLoginSession(late.id)).toThrow(code('not-found'));
    expect(t.store.getLoginSession(live.id).id).toBe(live.id);
    expect(() => t.store.expireLoginSession('nope', T0)).toThrow(code('not-found'));
    expect(() => t.store.createLoginSession({ ...identity(), nodeKey: 'x' }, T0)).toThrow(code('invalid'));
  });

  it('are found completed in one query, whatever their number', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const waiting = Array.from({ length: 500 }, () => t.store.createLoginSession(identity(), T0).id);
    expect(t.store.completedLoginSessions(waiting).size).toBe(0);
    const device = t.store.completeLoginSession(waiting[321]!, ana.id, T0 + 1).device;
    expect([...t.store.completedLoginSessions([...waiting, 'unknown'])]).toEqual([[waiting[321], device.id]]);
    expect(t.store.completedLoginSessions([]).size).toBe(0);
  });

  it('a failed registration leaves the session open', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const taken = t.store.registerDevice({ ...identity(), userId: ana.id }, T0);
    const session = t.store.createLoginSession({ ...identity(), nodeKey: taken.nodeKey }, T0);
    expect(() => t.store.completeLoginSession(session.id, ana.id, T0)).toThrow(code('duplicate-key'));
    expect(t.store.getLoginSession(session.id)).toEqual(session);
    expect(() => t.store.completeLoginSession(session.id, 'nope', T0)).toThrow(code('not-found'));
  });
});
