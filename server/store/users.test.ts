import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { T0, withTempStore } from './testing.js';

describe('networks', () => {
  const t = withTempStore();

  it('get their own ULA /48 and are found by id and name', () => {
    const a = t.store.createNetwork({ name: 'acme' }, T0);
    const b = t.store.createNetwork({ name: 'globex' }, T0 + 1);
    expect(a).toMatchObject({ name: 'acme', createdAt: T0 });
    expect(a.ula).toMatch(/^fd[0-9a-f:]+::\/48$/);
    expect(b.ula).not.toBe(a.ula);
    expect(t.store.getNetwork(a.id)).toEqual(a);
    expect(t.store.findNetworkByName('ACME')).toEqual(a);
    expect(t.store.findNetworkByName('initech')).toBeNull();
    expect(t.store.listNetworks()).toEqual([a, b]);
  });

  it('refuse duplicate (case-insensitive) and malformed names with typed errors', () => {
    t.store.createNetwork({ name: 'acme' }, T0);
    expect(() => t.store.createNetwork({ name: 'Acme' }, T0)).toThrow(
      expect.objectContaining({ name: 'StoreError', code: 'duplicate-name' }),
    );
    for (const name of ['', 'two words', 'x'.repeat(129), 'tab\there']) {
      expect(() => t.store.createNetwork({ name }, T0)).toThrow(expect.objectContaining({ code: 'invalid' }));
    }
    expect(() => t.store.getNetwork('nope')).toThrow(expect.objectContaining({ code: 'not-found' }));
  });
});

describe('users', () => {
  const t = withTempStore();

  it('without a network get a personal one named after them', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const net = t.store.getNetwork(ana.networkId);
    expect(net.name).toBe('ana');
    expect(ana).toEqual({ id: ana.id, name: 'ana', networkId: net.id, hasPassword: false, createdAt: T0 });
    expect(t.store.listUsers(net.id)).toEqual([ana]);
  });

  it('can join an existing network', () => {
    const acme = t.store.createNetwork({ name: 'acme' }, T0);
    const bo = t.store.createUser({ name: 'bo@acme.example', networkId: acme.id }, T0);
    const cy = t.store.createUser({ name: 'cy@acme.example', networkId: acme.id }, T0 + 1);
    expect(t.store.listUsers(acme.id)).toEqual([bo, cy]);
    expect(t.store.listNetworks()).toHaveLength(1);
    expect(t.store.getUser(bo.id)).toEqual(bo);
    expect(t.store.findUserByName('BO@ACME.EXAMPLE')).toEqual(bo);
    expect(() => t.store.createUser({ name: 'dee', networkId: 'nope' }, T0)).toThrow(
      expect.objectContaining({ code: 'not-found' }),
    );
  });

  it('have unique login names; a refused user leaves no personal network behind', () => {
    const acme = t.store.createNetwork({ name: 'acme' }, T0);
    t.store.createUser({ name: 'ana', networkId: acme.id }, T0);
    // The personal network "ANA" is inserted first, then the user insert fails: both must go.
    expect(() => t.store.createUser({ name: 'ANA' }, T0)).toThrow(
      expect.objectContaining({ code: 'duplicate-name' }),
    );
    expect(t.store.listNetworks().map((n) => n.name)).toEqual(['acme']);
    expect(t.store.findNetworkByName('ANA')).toBeNull();
  });

  it('verify passwords; the hash is scrypt in the file and never in the record', async () => {
    const ana = t.store.createUser({ name: 'ana', password: 'hunter2!' }, T0);
    t.store.createUser({ name: 'bo' }, T0);
    expect(ana.hasPassword).toBe(true);
    expect(ana).not.toHaveProperty('passwordHash');
    expect(await t.store.verifyPassword('ana', 'hunter2!')).toEqual(ana);
    expect(await t.store.verifyPassword('Ana', 'hunter2!')).toEqual(ana);
    expect(await t.store.verifyPassword('ana', 'hunter2')).toBeNull();
    expect(await t.store.verifyPassword('nobody', 'hunter2!')).toBeNull();
    expect(await t.store.verifyPassword('bo', '')).toBeNull();

    const raw = new Database(t.path, { readonly: true });
    const row = raw.prepare('SELECT password_hash FROM users WHERE id = ?').get(ana.id) as {
      password_hash: string;
    };
    raw.close();
    expect(row.password_hash).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(row.password_hash).not.toContain('hunter2');
  });

  it('refuse a password too short to resist guessing, and leave nothing behind', () => {
    expect(() => t.store.createUser({ name: 'cy', password: 'short' }, T0)).toThrow(/8-256 characters/);
    expect(t.store.findUserByName('cy')).toBeNull();
    expect(t.store.findNetworkByName('cy')).toBeNull();
  });

  it('get a password set later, or replaced; a refused one leaves the old in place', async () => {
    const bo = t.store.createUser({ name: 'bo' }, T0);
    expect(bo.hasPassword).toBe(false);
    expect(t.store.setPassword(bo.id, 'first password')).toEqual({ ...bo, hasPassword: true });
    expect(await t.store.verifyPassword('bo', 'first password')).toMatchObject({ id: bo.id });
    t.store.setPassword(bo.id, 'second password');
    expect(await t.store.verifyPassword('bo', 'first password')).toBeNull();
    expect(await t.store.verifyPassword('bo', 'second password')).toMatchObject({ id: bo.id });
    expect(() => t.store.setPassword(bo.id, 'short')).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(await t.store.verifyPassword('bo', 'second password')).toMatchObject({ id: bo.id });
    expect(() => t.store.setPassword('nope', 'long enough')).toThrow(
      expect.objectContaining({ code: 'not-found' }),
    );
  });

  it('take about as long to refuse an unknown name as a wrong password', async () => {
    t.store.createUser({ name: 'ana', password: 'hunter2!' }, T0);
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
