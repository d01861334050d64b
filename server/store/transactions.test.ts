import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { identity, T0, withTempStore } from './testing.js';

/** Every table's row count, to show that a failed write left nothing behind. */
function snapshot(path: string): Record<string, unknown> {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    return Object.fromEntries(
      (tables as string[]).map((name) => [name, db.prepare(`SELECT * FROM "${name}" ORDER BY 1`).all()]),
    );
  } finally {
    db.close();
  }
}

/** Makes the database itself fail the last step of a write: a trigger on inserts into `changes`. */
function failChangeInserts(path: string, on: boolean): void {
  const db = new Database(path);
  db.exec(
    on
      ? "CREATE TRIGGER fail_changes BEFORE INSERT ON changes BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
      : 'DROP TRIGGER fail_changes',
  );
  db.close();
}

describe('transactions', () => {
  const t = withTempStore();

  it('a registration failing at its last step leaves no device, cursor, key use or name behind', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const { secret } = t.store.createAuthKey({ userId: ana.id }, T0);
    t.store.registerDevice({ ...identity('first'), userId: ana.id }, T0);
    failChangeInserts(t.path, true);
    const before = snapshot(t.path);
    // Consumes the key, picks a name, advances the IPv4 cursor, inserts the device, then fails.
    expect(() => t.store.registerDeviceWithAuthKey(secret, identity('second'), T0 + 1)).toThrow(
      'injected failure',
    );
    expect(snapshot(t.path)).toEqual(before);
    failChangeInserts(t.path, false);
    const d = t.store.registerDeviceWithAuthKey(secret, identity('second'), T0 + 2);
    expect(d).toMatchObject({ name: 'second', ipv4: '100.64.0.2' });
  });

  it('transaction() joins calls into one: a throw undoes all of them', () => {
    const before = snapshot(t.path);
    expect(() =>
      t.store.transaction(() => {
        const acme = t.store.createNetwork({ name: 'acme' }, T0);
        const bo = t.store.createUser({ name: 'bo', networkId: acme.id }, T0);
        t.store.registerDevice({ ...identity(), userId: bo.id }, T0);
        t.store.setPolicy(acme.id, '{}', T0);
        throw new Error('changed my mind');
      }),
    ).toThrow('changed my mind');
    expect(snapshot(t.path)).toEqual(before);
    expect(t.store.currentSeq()).toBe(0);
  });

  it('a failed call inside transaction() can be caught without losing the rest', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const d = t.store.transaction(() => {
      const first = t.store.registerDevice({ ...identity('a'), userId: ana.id }, T0);
      expect(() =>
        t.store.registerDevice({ ...identity('b'), nodeKey: first.nodeKey, userId: ana.id }, T0),
      ).toThrow(expect.objectContaining({ code: 'duplicate-key' }));
      return first;
    });
    expect(t.store.listDevices(ana.networkId)).toEqual([d]);
    expect(t.store.currentSeq()).toBe(1);
  });

  it('a failing share revocation keeps the invite, the share and the feed as they were', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const bo = t.store.createUser({ name: 'bo' }, T0);
    const printer = t.store.registerDevice({ ...identity('printer'), userId: ana.id }, T0);
    const { invite, code } = t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, multiUse: true },
      T0,
    );
    t.store.acceptInvite({ code }, bo.id, T0);
    failChangeInserts(t.path, true);
    const before = snapshot(t.path);
    expect(() => t.store.revokeInvite(invite.id, ana.id, T0 + 1)).toThrow('injected failure');
    expect(snapshot(t.path)).toEqual(before);
  });
});
