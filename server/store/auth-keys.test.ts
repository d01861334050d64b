import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DAY, identity, T0, withTempStore } from './testing.js';
import { DEFAULTS } from './types.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

describe('auth keys', () => {
  const t = withTempStore();

  it('return their secret once; only its hash is stored', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const { authKey, secret } = t.store.createAuthKey({ userId: ana.id, tags: ['tag:server'] }, T0);
    expect(secret).toMatch(new RegExp(`^bkey-${authKey.prefix}-[A-Za-z0-9_-]{43}$`));
    expect(authKey).toEqual({
      id: authKey.id,
      userId: ana.id,
      prefix: authKey.prefix,
      reusable: false,
      ephemeral: false,
      tags: ['tag:server'],
      createdAt: T0,
      expiresAt: T0 + DEFAULTS.authKeyLifetimeMs,
      usedAt: null,
      revokedAt: null,
    });
    expect(t.store.listAuthKeys(ana.id)).toEqual([authKey]);
    t.store.close();
    const random = secret.split('-').slice(2).join('-');
    expect(readFileSync(t.path).includes(random)).toBe(false);
    t.reopen();
  });

  it('refuse unknown, malformed, revoked, expired and spent keys with their own codes', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const once = t.store.createAuthKey({ userId: ana.id }, T0);
    const revoked = t.store.createAuthKey({ userId: ana.id }, T0);
    const short = t.store.createAuthKey({ userId: ana.id, expiresAt: T0 + DAY }, T0);

    expect(() =>
      t.store.consumeAuthKey('bkey-000000000000-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', T0),
    ).toThrow(code('auth-key-unknown'));
    expect(() => t.store.consumeAuthKey('not a key', T0)).toThrow(code('auth-key-unknown'));

    expect(t.store.revokeAuthKey(revoked.authKey.id, T0 + 5).revokedAt).toBe(T0 + 5);
    expect(() => t.store.consumeAuthKey(revoked.secret, T0 + 6)).toThrow(code('auth-key-revoked'));

    expect(t.store.consumeAuthKey(short.secret, T0 + DAY - 1).usedAt).toBe(T0 + DAY - 1);
    const fresh = t.store.createAuthKey({ userId: ana.id, expiresAt: T0 + DAY }, T0);
    expect(() => t.store.consumeAuthKey(fresh.secret, T0 + DAY)).toThrow(code('auth-key-expired'));

    expect(t.store.consumeAuthKey(once.secret, T0 + 1)).toMatchObject({
      id: once.authKey.id,
      usedAt: T0 + 1,
    });
    expect(() => t.store.consumeAuthKey(once.secret, T0 + 2)).toThrow(code('auth-key-used'));
    expect(() => t.store.revokeAuthKey('nope', T0)).toThrow(code('not-found'));
    expect(() => t.store.createAuthKey({ userId: 'nope' }, T0)).toThrow(code('not-found'));
    expect(() => t.store.createAuthKey({ userId: ana.id, tags: ['server'] }, T0)).toThrow(code('invalid'));
  });

  it('reusable keys stay usable and remember their last use', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const { secret } = t.store.createAuthKey({ userId: ana.id, reusable: true }, T0);
    for (let i = 1; i <= 3; i++) expect(t.store.consumeAuthKey(secret, T0 + i).usedAt).toBe(T0 + i);
  });

  it('register devices as their user, with their tags and ephemerality', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const { secret } = t.store.createAuthKey({ userId: ana.id, ephemeral: true, tags: ['tag:ci'] }, T0);
    const device = t.store.registerDeviceWithAuthKey(secret, identity('runner'), T0 + 1);
    expect(device).toMatchObject({
      userId: ana.id,
      networkId: ana.networkId,
      tags: ['tag:ci'],
      ephemeral: true,
    });
    expect(() => t.store.registerDeviceWithAuthKey(secret, identity('runner'), T0 + 2)).toThrow(
      code('auth-key-used'),
    );
  });

  it('stay unspent when the registration they were for fails', () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const { authKey, secret } = t.store.createAuthKey({ userId: ana.id }, T0);
    const first = t.store.registerDevice({ ...identity('a'), userId: ana.id }, T0);
    const seq = t.store.currentSeq();
    // Same node key as an existing device: the insert fails after the key was marked used.
    const clash = { ...identity('b'), nodeKey: first.nodeKey };
    expect(() => t.store.registerDeviceWithAuthKey(secret, clash, T0 + 1)).toThrow(code('duplicate-key'));
    expect(t.store.listAuthKeys(ana.id)).toEqual([authKey]);
    expect(t.store.listDevices(ana.networkId)).toEqual([first]);
    expect(t.store.currentSeq()).toBe(seq);
    expect(t.store.registerDeviceWithAuthKey(secret, identity('b'), T0 + 2).name).toBe('b');
  });
});
