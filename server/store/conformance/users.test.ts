import { describe, expect, it } from 'vitest';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { T0 } from '../testing.js';

describe.each(BACK_ENDS)('networks ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);

  it('get their own ULA /48 and are found by id and name', async () => {
    const a = await t.store.createNetwork({ name: 'acme' }, T0);
    const b = await t.store.createNetwork({ name: 'globex' }, T0 + 1);
    expect(a).toMatchObject({ name: 'acme', createdAt: T0 });
    expect(a.ula).toMatch(/^fd[0-9a-f:]+::\/48$/);
    expect(b.ula).not.toBe(a.ula);
    expect(await t.store.getNetwork(a.id)).toEqual(a);
    expect(await t.store.findNetworkByName('ACME')).toEqual(a);
    expect(await t.store.findNetworkByName('initech')).toBeNull();
    expect(await t.store.listNetworks()).toEqual([a, b]);
  });

  it('refuse duplicate (case-insensitive) and malformed names with typed errors', async () => {
    await t.store.createNetwork({ name: 'acme' }, T0);
    await expect(t.store.createNetwork({ name: 'Acme' }, T0)).rejects.toThrow(
      expect.objectContaining({ name: 'StoreError', code: 'duplicate-name' }),
    );
    for (const name of ['', 'two words', 'x'.repeat(129), 'tab\there']) {
      await expect(t.store.createNetwork({ name }, T0)).rejects.toThrow(
        expect.objectContaining({ code: 'invalid' }),
      );
    }
    await expect(t.store.getNetwork('nope')).rejects.toThrow(expect.objectContaining({ code: 'not-found' }));
  });
});

describe.each(BACK_ENDS)('users ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);

  it('without a network get a personal one named after them', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const net = await t.store.getNetwork(ana.networkId);
    expect(net.name).toBe('ana');
    expect(ana).toEqual({ id: ana.id, name: 'ana', networkId: net.id, hasPassword: false, createdAt: T0 });
    expect(await t.store.listUsers(net.id)).toEqual([ana]);
  });

  it('can join an existing network', async () => {
    const acme = await t.store.createNetwork({ name: 'acme' }, T0);
    const bo = await t.store.createUser({ name: 'bo@acme.example', networkId: acme.id }, T0);
    const cy = await t.store.createUser({ name: 'cy@acme.example', networkId: acme.id }, T0 + 1);
    expect(await t.store.listUsers(acme.id)).toEqual([bo, cy]);
    expect(await t.store.listNetworks()).toHaveLength(1);
    expect(await t.store.getUser(bo.id)).toEqual(bo);
    expect(await t.store.findUserByName('BO@ACME.EXAMPLE')).toEqual(bo);
    await expect(t.store.createUser({ name: 'dee', networkId: 'nope' }, T0)).rejects.toThrow(
      expect.objectContaining({ code: 'not-found' }),
    );
  });

  it('have unique login names; a refused user leaves no personal network behind', async () => {
    const acme = await t.store.createNetwork({ name: 'acme' }, T0);
    await t.store.createUser({ name: 'ana', networkId: acme.id }, T0);
    // The personal network "ANA" is inserted first, then the user insert fails: both must go.
    await expect(t.store.createUser({ name: 'ANA' }, T0)).rejects.toThrow(
      expect.objectContaining({ code: 'duplicate-name' }),
    );
    expect((await t.store.listNetworks()).map((n) => n.name)).toEqual(['acme']);
    expect(await t.store.findNetworkByName('ANA')).toBeNull();
  });

  it('verify passwords; the hash is scrypt in the file and never in the record', async () => {
    const ana = await t.store.createUser({ name: 'ana', password: 'hunter2!' }, T0);
    await t.store.createUser({ name: 'bo' }, T0);
    expect(ana.hasPassword).toBe(true);
    expect(ana).not.toHaveProperty('passwordHash');
    expect(await t.store.verifyPassword('ana', 'hunter2!')).toEqual(ana);
    expect(await t.store.verifyPassword('Ana', 'hunter2!')).toEqual(ana);
    expect(await t.store.verifyPassword('ana', 'hunter2')).toBeNull();
    expect(await t.store.verifyPassword('nobody', 'hunter2!')).toBeNull();
    expect(await t.store.verifyPassword('bo', '')).toBeNull();

    const [row] = await t.db.sql<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = ?',
      ana.id,
    );
    expect(row?.password_hash).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(row?.password_hash).not.toContain('hunter2');
  });

  it('refuse a password too short to resist guessing, and leave nothing behind', async () => {
    await expect(t.store.createUser({ name: 'cy', password: 'short' }, T0)).rejects.toThrow(
      /8-256 characters/,
    );
    expect(await t.store.findUserByName('cy')).toBeNull();
    expect(await t.store.findNetworkByName('cy')).toBeNull();
  });

  it('get a password set later, or replaced; a refused one leaves the old in place', async () => {
    const bo = await t.store.createUser({ name: 'bo' }, T0);
    expect(bo.hasPassword).toBe(false);
    expect(await t.store.setPassword(bo.id, 'first password')).toEqual({ ...bo, hasPassword: true });
    expect(await t.store.verifyPassword('bo', 'first password')).toMatchObject({ id: bo.id });
    await t.store.setPassword(bo.id, 'second password');
    expect(await t.store.verifyPassword('bo', 'first password')).toBeNull();
    expect(await t.store.verifyPassword('bo', 'second password')).toMatchObject({ id: bo.id });
    await expect(t.store.setPassword(bo.id, 'short')).rejects.toThrow(
      expect.objectContaining({ code: 'invalid' }),
    );
    expect(await t.store.verifyPassword('bo', 'second password')).toMatchObject({ id: bo.id });
    await expect(t.store.setPassword('nope', 'long enough')).rejects.toThrow(
      expect.objectContaining({ code: 'not-found' }),
    );
  });

  it('take about as long to refuse an unknown name as a wrong password', async () => {
    await t.store.createUser({ name: 'ana', password: 'hunter2!' }, T0);
    await t.store.verifyPassword('nobody', 'x'); // builds the decoy hash once
    const time = async (fn: () => Promise<unknown>) => {
      const start = performance.now();
      await fn();
      return performance.now() - start;
    };
    const wrong = await time(() => t.store.verifyPassword('ana', 'wrong'));
    const unknown = await time(() => t.store.verifyPassword('nobody', 'wrong'));
    expect(unknown).toBeGreaterThan(wrong / 3);
  });
});
