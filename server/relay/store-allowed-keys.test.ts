import { afterEach, describe, expect, it } from 'vitest';
import { identity, T0, withTempStore } from '../store/testing.js';
import { type KeyChanges, StoreAllowedKeys } from './store-allowed-keys.js';

describe('allowed keys from the store', () => {
  const t = withTempStore();
  let now = T0;
  let follower: StoreAllowedKeys | undefined;
  afterEach(() => follower?.close());

  /** A follower that polls only when the test says (its timer's period is far beyond the test). */
  async function follow() {
    now = T0;
    const f = await StoreAllowedKeys.open(t.store, { now: () => now, pollMs: 3_600_000 });
    follower = f;
    const revoked: string[] = [];
    const changes: KeyChanges[] = [];
    f.onRevoked((keys) => revoked.push(...keys));
    f.onChange((c) => changes.push(c));
    return { f, revoked, changes };
  }

  it('loads the unexpired keys, and follows deletions, rotations and expiry', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const register = async (name: string, keyExpiry: number | null) =>
      await t.store.registerDevice({ ...identity(name), userId: ana.id, keyExpiry }, T0);
    const a = await register('a', null);
    const b = await register('b', T0 + 5000);
    const old = await register('old', T0 - 1);
    const { f, revoked, changes } = await follow();
    const keys = f.entries().map((e) => e.key);
    expect(keys.sort()).toEqual([a.nodeKey, b.nodeKey].sort());
    expect(f.allows(old.nodeKey)).toBe(false);

    // Registered a moment ago: allowed once looked up again, without waiting for the next poll.
    const c = await register('c', null);
    expect(f.allows(c.nodeKey)).toBe(false);
    expect(await f.recheck(c.nodeKey)).toBe(true);
    expect(f.allows(c.nodeKey)).toBe(true);
    expect(changes.at(-1)).toEqual({ allow: [{ key: c.nodeKey, expires: null }], revoke: [] });

    await t.store.deleteDevice(a.id, T0);
    const rotated = await t.store.rotateNodeKey(c.id, identity().nodeKey, T0);
    // A change that does not touch keys (endpoints) is not passed on.
    await t.store.setDeviceStatus(b.id, { endpoints: ['192.0.2.1:41641'] }, T0);
    await f.poll();
    expect(revoked.sort()).toEqual([a.nodeKey, c.nodeKey].sort());
    expect(changes.at(-1)).toEqual({
      allow: [{ key: rotated.nodeKey, expires: null }],
      revoke: expect.arrayContaining([a.nodeKey, c.nodeKey]),
    });
    expect(f.allows(rotated.nodeKey)).toBe(true);
    expect(f.allows(c.nodeKey)).toBe(false);

    // b's key expires by time: no store change is needed.
    const changesBefore = changes.length;
    now = T0 + 5000;
    expect(await f.recheck(b.nodeKey)).toBe(false);
    expect(revoked).toContain(b.nodeKey);
    expect(changes.length).toBe(changesBefore + 1);
    // Re-authenticated (a new expiry): allowed again.
    await t.store.reauthenticateDevice(b.id, now, now + 60_000);
    expect(await f.recheck(b.nodeKey)).toBe(true);
  });

  it('loads everything again when the change feed was pruned past its position', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const a = await t.store.registerDevice({ ...identity('a'), userId: ana.id }, T0);
    const { f, revoked } = await follow();
    await t.store.deleteDevice(a.id, T0 + 1);
    const b = await t.store.registerDevice({ ...identity('b'), userId: ana.id }, T0 + 2);
    await t.store.pruneChanges(T0 + 10);
    await f.poll();
    expect(revoked).toEqual([a.nodeKey]);
    expect(f.entries().map((e) => e.key)).toEqual([b.nodeKey]);
  });
});
