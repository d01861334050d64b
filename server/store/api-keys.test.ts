import { describe, expect, it } from 'vitest';
import { DAY, T0, withTempStore } from './testing.js';
import { DEFAULTS } from './types.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

describe('API keys', () => {
  const t = withTempStore();
  const network = () => t.store.createNetwork({ name: 'home' }, T0);

  it('belong to one network, expire in 90 days unless told, and return their secret once', () => {
    const home = network();
    const { apiKey, secret } = t.store.createApiKey({ networkId: home.id }, T0);
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
    expect(t.store.verifyApiKey(secret, T0 + 5)).toEqual({ ...apiKey, lastUsedAt: T0 + 5 });
    expect(t.store.listApiKeys()).toEqual([{ ...apiKey, lastUsedAt: T0 + 5 }]);
    expect(() => t.store.verifyApiKey(secret, T0 + 90 * DAY)).toThrow(code('api-key-expired'));
    expect(t.store.createApiKey({ networkId: home.id, expiresAt: T0 + DAY }, T0).apiKey.expiresAt).toBe(
      T0 + DAY,
    );
  });

  it('are refused for a network that does not exist, or already expired; nothing is made', () => {
    const home = network();
    expect(() => t.store.createApiKey({ networkId: 'nope' }, T0)).toThrow(code('not-found'));
    expect(() => t.store.createApiKey({ networkId: home.id, expiresAt: T0 }, T0)).toThrow(code('invalid'));
    expect(t.store.listApiKeys()).toEqual([]);
  });

  it('refuse unknown, malformed, other kinds of secret, expired and revoked keys', () => {
    const { apiKey, secret } = t.store.createApiKey({ networkId: network().id, expiresAt: T0 + DAY }, T0);
    expect(() =>
      t.store.verifyApiKey(
        secret.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
        T0,
      ),
    ).toThrow(code('api-key-unknown'));
    expect(() => t.store.verifyApiKey(secret.replace('bapi-', 'bkey-'), T0)).toThrow(code('api-key-unknown'));
    expect(() => t.store.verifyApiKey('', T0)).toThrow(code('api-key-unknown'));
    expect(() => t.store.verifyApiKey(secret, T0 + DAY)).toThrow(code('api-key-expired'));
    t.store.revokeApiKey(apiKey.id);
    expect(() => t.store.verifyApiKey(secret, T0)).toThrow(code('api-key-unknown'));
    expect(t.store.listApiKeys()).toEqual([]);
    expect(() => t.store.revokeApiKey(apiKey.id)).toThrow(code('not-found'));
  });
});
