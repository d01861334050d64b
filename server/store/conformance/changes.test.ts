import { describe, expect, it } from 'vitest';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { identity, T0 } from '../testing.js';

describe.each(BACK_ENDS)('change feed ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);

  it('numbers changes server-wide; each network reads its own, in order', async () => {
    expect(await t.store.currentSeq()).toBe(0);
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const bo = await t.store.createUser({ name: 'bo' }, T0);
    const a = await t.store.registerDevice({ ...identity('a'), userId: ana.id }, T0 + 1);
    const b = await t.store.registerDevice({ ...identity('b'), userId: bo.id }, T0 + 2);
    await t.store.setPolicy(ana.networkId, '{}', T0 + 3);
    await t.store.deleteDevice(a.id, T0 + 4);
    expect(await t.store.currentSeq()).toBe(4);
    expect(await t.store.changesSince(ana.networkId, 0)).toEqual([
      { seq: 1, networkId: ana.networkId, kind: 'device-added', deviceId: a.id, createdAt: T0 + 1 },
      { seq: 3, networkId: ana.networkId, kind: 'policy-changed', deviceId: null, createdAt: T0 + 3 },
      { seq: 4, networkId: ana.networkId, kind: 'device-removed', deviceId: a.id, createdAt: T0 + 4 },
    ]);
    expect((await t.store.changesSince(ana.networkId, 3))?.map((c) => c.seq)).toEqual([4]);
    expect(await t.store.changesSince(ana.networkId, 4)).toEqual([]);
    expect((await t.store.changesSince(bo.networkId, 0))?.map((c) => [c.seq, c.deviceId])).toEqual([
      [2, b.id],
    ]);
    // The coordinator reads every network's changes at once.
    expect((await t.store.changesAfter(1))?.map((c) => [c.seq, c.networkId])).toEqual([
      [2, bo.networkId],
      [3, ana.networkId],
      [4, ana.networkId],
    ]);
    expect(await t.store.changesAfter(5)).toBeNull();
  });

  it('answers null (send a full map) for a seq it cannot serve', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    for (let i = 0; i < 4; i++)
      await t.store.registerDevice({ ...identity(), userId: ana.id }, T0 + i * 1000);
    // A client claiming a seq this store never reached (e.g. after a restore from backup).
    expect(await t.store.changesSince(ana.networkId, 5)).toBeNull();

    expect(await t.store.pruneChanges(T0 + 2000)).toBe(2);
    expect(await t.store.changesSince(ana.networkId, 0)).toBeNull();
    expect(await t.store.changesSince(ana.networkId, 1)).toBeNull();
    expect((await t.store.changesSince(ana.networkId, 2))?.map((c) => c.seq)).toEqual([3, 4]);
    expect(await t.store.pruneChanges(T0)).toBe(0);
    expect(await t.store.currentSeq()).toBe(4);

    // Pruning everything does not rewind the sequence.
    expect(await t.store.pruneChanges(T0 + 10_000)).toBe(2);
    expect(await t.store.currentSeq()).toBe(4);
    expect(await t.store.changesSince(ana.networkId, 4)).toEqual([]);
    await t.store.registerDevice({ ...identity(), userId: ana.id }, T0 + 20_000);
    expect((await t.store.changesSince(ana.networkId, 4))?.map((c) => c.seq)).toEqual([5]);
  });
});
