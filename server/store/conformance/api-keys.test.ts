import { describe, expect, it } from 'vitest';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { DAY, T0 } from '../testing.js';
import { DEFAULTS } from '../types.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

describe.each(BACK_ENDS)('API keys ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);
  const network = async () => await t.store.createNetwork({ name: 'home' }, T0);

  it('belong to one network, expire in 90 days unless told, and return their secret once', async () => {
    const home = await network();
    const { apiKey, secret } = await t.store.createApiKey({ networkId: home.id }, T0);
    expect(secret).toMatch(new RegExp(`^bapi-${apiKey.prefix}-[A-Za-z0-9_-]{43}$`));
    expect(DEFAULTS.apiKeyLifetimeMs).toBe(90 * DAY);
    expect(apiKey).toEqual({
      id: apiKey.id,
      prefix: apiKey.prefix,
      networkId: home.id,
      createdAt: T0,
      expiresAt: T0 + 90 * DAY,
      lastUsedAt: null,
    });
    expect(await t.store.verifyApiKey(secret, T0 + 5)).toEqual({ ...apiKey, lastUsedAt: T0 + 5 });
    expect(await t.store.listApiKeys()).toEqual([{ ...apiKey, lastUsedAt: T0 + 5 }]);
    await expect(t.store.verifyApiKey(secret, T0 + 90 * DAY)).rejects.toThrow(code('api-key-expired'));
    expect(
      (await t.store.createApiKey({ networkId: home.id, expiresAt: T0 + DAY }, T0)).apiKey.expiresAt,
    ).toBe(T0 + DAY);
  });

  it('are refused for a network that does not exist, or already expired; nothing is made', async () => {
    const home = await network();
    await expect(t.store.createApiKey({ networkId: 'nope' }, T0)).rejects.toThrow(code('not-found'));
    await expect(t.store.createApiKey({ networkId: home.id, expiresAt: T0 }, T0)).rejects.toThrow(
      code('invalid'),
    );
    expect(await t.store.listApiKeys()).toEqual([]);
  });

  it('refuse unknown, malformed, other kinds of secret, expired and revoked keys', async () => {
    const { apiKey, secret } = await t.store.createApiKey(
      { networkId: (await network()).id, expiresAt: T0 + DAY },
      T0,
    );
    await expect(
      t.store.verifyApiKey(
        secret.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
        T0,
      ),
    ).rejects.toThrow(code('api-key-unknown'));
    await expect(t.store.verifyApiKey(secret.replace('bapi-', 'bkey-'), T0)).rejects.toThrow(
      code('api-key-unknown'),
    );
    await expect(t.store.verifyApiKey('', T0)).rejects.toThrow(code('api-key-unknown'));
    await expect(t.store.verifyApiKey(secret, T0 + DAY)).rejects.toThrow(code('api-key-expired'));
    await t.store.revokeApiKey(apiKey.id);
    await expect(t.store.verifyApiKey(secret, T0)).rejects.toThrow(code('api-key-unknown'));
    expect(await t.store.listApiKeys()).toEqual([]);
    await expect(t.store.revokeApiKey(apiKey.id)).rejects.toThrow(code('not-found'));
  });
});
