import { describe, expect, it } from 'vitest';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { identity, T0 } from '../testing.js';

describe.each(BACK_ENDS)('transactions ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);

  it('a registration failing at its last step leaves no device, cursor, key use or name behind', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const { secret } = await t.store.createAuthKey({ userId: ana.id }, T0);
    await t.store.registerDevice({ ...identity('first'), userId: ana.id }, T0);
    await t.db.failChangeInserts(true);
    const before = await t.db.snapshot();
    // Consumes the key, picks a name, advances the IPv4 cursor, inserts the device, then fails.
    await expect(t.store.registerDeviceWithAuthKey(secret, identity('second'), T0 + 1)).rejects.toThrow(
      'injected failure',
    );
    expect(await t.db.snapshot()).toEqual(before);
    await t.db.failChangeInserts(false);
    const d = await t.store.registerDeviceWithAuthKey(secret, identity('second'), T0 + 2);
    expect(d).toMatchObject({ name: 'second', ipv4: '100.64.0.2' });
  });

  it('transaction() joins calls into one: a throw undoes all of them', async () => {
    const before = await t.db.snapshot();
    await expect(
      t.store.transaction(async () => {
        const acme = await t.store.createNetwork({ name: 'acme' }, T0);
        const bo = await t.store.createUser({ name: 'bo', networkId: acme.id }, T0);
        await t.store.registerDevice({ ...identity(), userId: bo.id }, T0);
        await t.store.setPolicy(acme.id, '{}', T0);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await t.db.snapshot()).toEqual(before);
    expect(await t.store.currentSeq()).toBe(0);
  });

  it('a failed call inside transaction() can be caught without losing the rest', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const d = await t.store.transaction(async () => {
      const first = await t.store.registerDevice({ ...identity('a'), userId: ana.id }, T0);
      await expect(
        t.store.registerDevice({ ...identity('b'), nodeKey: first.nodeKey, userId: ana.id }, T0),
      ).rejects.toThrow(expect.objectContaining({ code: 'duplicate-key' }));
      return first;
    });
    expect(await t.store.listDevices(ana.networkId)).toEqual([d]);
    expect(await t.store.currentSeq()).toBe(1);
  });

  it("another caller's calls wait while a transaction is open: they neither join it nor see it half done", async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    let inside!: () => void;
    const started = new Promise<void>((resolve) => {
      inside = resolve;
    });
    let proceed!: () => void;
    const gate = new Promise<void>((resolve) => {
      proceed = resolve;
    });
    const failing = t.store.transaction(async () => {
      await t.store.registerDevice({ ...identity('inside'), userId: ana.id }, T0);
      inside();
      await gate; // the transaction stays open while the others ask
      throw new Error('rolled back');
    });
    await started;
    // Someone else's read and write, made while the transaction is open.
    const read = t.store.listDevices(ana.networkId);
    const write = t.store.registerDevice({ ...identity('outside'), userId: ana.id }, T0);
    let settled = false;
    void Promise.all([read, write]).then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    proceed();
    await expect(failing).rejects.toThrow('rolled back');
    // The read saw the state before the transaction, not its device; the write stands on its own.
    expect((await read).map((d) => d.name)).toEqual([]);
    const outside = await write;
    expect((await t.store.listDevices(ana.networkId)).map((d) => d.id)).toEqual([outside.id]);
  });

  it('a failing share revocation keeps the invite, the share and the feed as they were', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const bo = await t.store.createUser({ name: 'bo' }, T0);
    const printer = await t.store.registerDevice({ ...identity('printer'), userId: ana.id }, T0);
    const { invite, code } = await t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, multiUse: true },
      T0,
    );
    await t.store.acceptInvite({ code }, bo.id, T0);
    await t.db.failChangeInserts(true);
    const before = await t.db.snapshot();
    await expect(t.store.revokeInvite(invite.id, ana.id, T0 + 1)).rejects.toThrow('injected failure');
    expect(await t.db.snapshot()).toEqual(before);
  });
});
