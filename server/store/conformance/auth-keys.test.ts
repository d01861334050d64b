import { describe, expect, it } from 'vitest';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { DAY, identity, T0 } from '../testing.js';
import { DEFAULTS } from '../types.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

describe.each(BACK_ENDS)('auth keys ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);

  it('return their secret once; only its hash is stored', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const { authKey, secret } = await t.store.createAuthKey({ userId: ana.id, tags: ['tag:server'] }, T0);
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
    expect(await t.store.listAuthKeys(ana.id)).toEqual([authKey]);
    const random = secret.split('-').slice(2).join('-');
    expect(JSON.stringify(await t.db.snapshot())).not.toContain(random); // only its hash is kept
  });

  it('refuse unknown, malformed, revoked, expired and spent keys with their own codes', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const once = await t.store.createAuthKey({ userId: ana.id }, T0);
    const revoked = await t.store.createAuthKey({ userId: ana.id }, T0);
    const short = await t.store.createAuthKey({ userId: ana.id, expiresAt: T0 + DAY }, T0);

    await expect(
      t.store.consumeAuthKey('bkey-000000000000-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', T0),
    ).rejects.toThrow(code('auth-key-unknown'));
    await expect(t.store.consumeAuthKey('not a key', T0)).rejects.toThrow(code('auth-key-unknown'));

    expect((await t.store.revokeAuthKey(revoked.authKey.id, T0 + 5)).revokedAt).toBe(T0 + 5);
    await expect(t.store.consumeAuthKey(revoked.secret, T0 + 6)).rejects.toThrow(code('auth-key-revoked'));

    expect((await t.store.consumeAuthKey(short.secret, T0 + DAY - 1)).usedAt).toBe(T0 + DAY - 1);
    const fresh = await t.store.createAuthKey({ userId: ana.id, expiresAt: T0 + DAY }, T0);
    await expect(t.store.consumeAuthKey(fresh.secret, T0 + DAY)).rejects.toThrow(code('auth-key-expired'));

    expect(await t.store.consumeAuthKey(once.secret, T0 + 1)).toMatchObject({
      id: once.authKey.id,
      usedAt: T0 + 1,
    });
    await expect(t.store.consumeAuthKey(once.secret, T0 + 2)).rejects.toThrow(code('auth-key-used'));
    await expect(t.store.revokeAuthKey('nope', T0)).rejects.toThrow(code('not-found'));
    await expect(t.store.createAuthKey({ userId: 'nope' }, T0)).rejects.toThrow(code('not-found'));
    await expect(t.store.createAuthKey({ userId: ana.id, tags: ['server'] }, T0)).rejects.toThrow(
      code('invalid'),
    );
  });

  it('reusable keys stay usable and remember their last use', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const { secret } = await t.store.createAuthKey({ userId: ana.id, reusable: true }, T0);
    for (let i = 1; i <= 3; i++) expect((await t.store.consumeAuthKey(secret, T0 + i)).usedAt).toBe(T0 + i);
  });

  it('register devices as their user, with their tags and ephemerality', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const { secret } = await t.store.createAuthKey({ userId: ana.id, ephemeral: true, tags: ['tag:ci'] }, T0);
    const device = await t.store.registerDeviceWithAuthKey(secret, identity('runner'), T0 + 1);
    expect(device).toMatchObject({
      userId: ana.id,
      networkId: ana.networkId,
      tags: ['tag:ci'],
      ephemeral: true,
    });
    await expect(t.store.registerDeviceWithAuthKey(secret, identity('runner'), T0 + 2)).rejects.toThrow(
      code('auth-key-used'),
    );
  });

  it('stay unspent when the registration they were for fails', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const { authKey, secret } = await t.store.createAuthKey({ userId: ana.id }, T0);
    const first = await t.store.registerDevice({ ...identity('a'), userId: ana.id }, T0);
    const seq = await t.store.currentSeq();
    // Same node key as an existing device: the insert fails after the key was marked used.
    const clash = { ...identity('b'), nodeKey: first.nodeKey };
    await expect(t.store.registerDeviceWithAuthKey(secret, clash, T0 + 1)).rejects.toThrow(
      code('duplicate-key'),
    );
    expect(await t.store.listAuthKeys(ana.id)).toEqual([authKey]);
    expect(await t.store.listDevices(ana.networkId)).toEqual([first]);
    expect(await t.store.currentSeq()).toBe(seq);
    expect((await t.store.registerDeviceWithAuthKey(secret, identity('b'), T0 + 2)).name).toBe('b');
  });
});
