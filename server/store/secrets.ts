import { createHash, randomBytes } from 'node:crypto';

/**
 * Record ids and bearer secrets. A secret reads `<kind>-<prefix>-<random>`: the kind says what it
 * is when it turns up in a log or a paste, the prefix is stored in the clear so a list can tell keys
 * apart, and only the SHA-256 of the whole secret is stored. 256 random bits make a salt or a slow
 * hash pointless, and let the hash itself be the lookup key: an attacker cannot steer a hash's
 * bytes, so the index lookup leaks nothing useful through timing.
 */

export type SecretKind = 'bkey' | 'bapi' | 'binv';

export interface NewSecret {
  secret: string;
  prefix: string;
  hash: string;
}

/** Record ids: random, so ids reveal neither counts nor order. Login sessions ask for more bytes. */
export function randomId(bytes = 12): string {
  return randomBytes(bytes).toString('base64url');
}

export function newSecret(kind: SecretKind): NewSecret {
  const prefix = randomBytes(6).toString('hex');
  const secret = `${kind}-${prefix}-${randomBytes(32).toString('base64url')}`;
  return { secret, prefix, hash: hashSecret(secret) };
}

/** The stored hash of a presented secret, or null when it is not even shaped like one of `kind`. */
export function secretHash(kind: SecretKind, presented: string): string | null {
  const shape = new RegExp(`^${kind}-[0-9a-f]{12}-[A-Za-z0-9_-]{43}$`);
  return shape.test(presented) ? hashSecret(presented) : null;
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
