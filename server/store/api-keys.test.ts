import { describe, expect, it } from 'vitest';
import { DAY, T0, withTempStore } from './testing.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

describe('API keys', () => {
  const t = withTempStore();

  it('return their secret once and verify it, recording the last use', () => {
    const { apiKey, secret } = t.store.createApiKey({ expiresAt: null }, T0);
    expect(secret).toMatch(new RegExp(`^bapi-${apiKey.prefix}-[A-Za-z0-9_-]{43}$`));
    expect(apiKey).toEqual({
      id: apiKey.id,
      prefix: apiKey.prefix,
      createdAt: T0,
      expiresAt: null,
      lastUsedAt: null,
    });
    expect(t.store.verifyApiKey(secret, T0 + 5)).toEqual({ ...apiKey, lastUsedAt: T0 + 5 });
    expect(t.store.listApiKeys()).toEqual([{ ...apiKey, lastUsedAt: T0 + 5 }]);
  });

  it('refuse unknown, malformed, other kinds of secret, expired and revoked keys', () => {
    const { apiKey, secret } = t.store.createApiKey({ expiresAt: T0 + DAY }, T0);
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
