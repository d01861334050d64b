import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes as self-describing strings, `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url),
 * so the cost can be raised later without breaking the hashes already stored.
 */

/**
 * N=2^15 (32 MiB), twice Django's default: ~110 ms per hash on this project's machines. OWASP asks
 * for 2^17, but the Store is synchronous, so each sign-in attempt holds the event loop for the whole
 * hash; 2^17 would hold it half a second. The cost is in each hash string, so it can be raised.
 */
const COST = { logN: 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export function hashPassword(password: string): string {
  const salt = randomBytes(SALT_BYTES);
  const hash = derive(password, salt, COST.logN, COST.r, COST.p);
  return ['scrypt', COST.logN, COST.r, COST.p, salt.toString('base64url'), hash.toString('base64url')].join(
    '$',
  );
}

/** Constant-time in the password; a malformed stored string simply fails to match. */
export function verifyPasswordHash(password: string, stored: string): boolean {
  const m = /^scrypt\$(\d{1,2})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64url');
  if (logN < 1 || logN > 20 || r < 1 || p < 1 || expected.length !== HASH_BYTES) return false;
  const actual = derive(password, Buffer.from(m[4]!, 'base64url'), logN, r, p);
  return timingSafeEqual(actual, expected);
}

/**
 * A hash of a random password, to verify against when the user does not exist or has no password,
 * so a failed sign-in takes as long whether or not the name is known.
 */
let decoy: string | undefined;
export function decoyHash(): string {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
}

function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Buffer {
  const N = 2 ** logN;
  // scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is exactly that at N=2^15, r=8.
  return scryptSync(password.normalize('NFC'), salt, HASH_BYTES, { N, r, p, maxmem: 256 * N * r });
}
