import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../store.js';
import { POSTGRES, type TestDatabase } from '../test-support/back-ends.js';
import { identity, T0 } from '../testing.js';

/**
 * What only the PostgreSQL back end has: several burrow-server instances on one database, each
 * with its own pool, racing on the same rows. The loser of each race retries or is refused; nothing
 * is handed out twice.
 */
describe('several instances on one PostgreSQL database', () => {
  let db: TestDatabase;
  let a: Store;
  let b: Store;
  beforeEach(async () => {
    db = await POSTGRES.create();
    a = await db.open({});
    b = await db.open({});
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await db.remove();
  });
  afterAll(async () => {
    await POSTGRES.dispose?.();
  });

  it('parallel registrations on both never hand out one address, name or seq twice', async () => {
    const ana = await a.createUser({ name: 'ana' }, T0);
    const { secret } = await a.createAuthKey({ userId: ana.id, reusable: true }, T0);
    const joins = Array.from({ length: 80 }, (_, i) =>
      (i % 2 === 0 ? a : b).registerDeviceWithAuthKey(secret, identity('host'), T0),
    );
    const devices = await Promise.all(joins);
    expect(new Set(devices.map((d) => d.ipv4)).size).toBe(80);
    expect(new Set(devices.map((d) => d.name)).size).toBe(80);
    const feed = (await b.changesAfter(0)) ?? [];
    expect(feed.map((c) => c.seq)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    expect(await a.currentSeq()).toBe(80);
  });

  it('a single-use auth key registers one device, however many instances race to use it', async () => {
    const ana = await a.createUser({ name: 'ana' }, T0);
    const { secret } = await a.createAuthKey({ userId: ana.id }, T0);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).registerDeviceWithAuthKey(secret, identity(`h${i}`), T0),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'auth-key-used' });
    }
    expect(await b.listDevices(ana.networkId)).toHaveLength(1);
  });

  it('a single-use invite link is accepted once, however many instances race to accept it', async () => {
    const ana = await a.createUser({ name: 'ana' }, T0);
    const printer = await a.registerDevice({ ...identity('printer'), userId: ana.id }, T0);
    const { code } = await a.createInvite({ deviceId: printer.id, byUserId: ana.id }, T0);
    const takers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => a.createUser({ name: `u${i}` }, T0)),
    );
    const results = await Promise.allSettled(
      takers.map((u, i) => (i % 2 === 0 ? a : b).acceptInvite({ code }, u.id, T0)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'invite-not-pending' });
    }
    expect(await b.sharesOfDevice(printer.id)).toHaveLength(1);
  });
});
