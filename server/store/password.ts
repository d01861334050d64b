import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes as self-describing strings, `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url),
 * so the cost can be raised later without breaking the hashes already stored.
 */

/**
 * N=2^15 (32 MiB), twice Django's default: ~110 ms of a core per hash on this project's machines.
 * Sign-in checks run on libuv's thread pool (verifyPasswordHash is asynchronous), so the cost is CPU
 * and memory rather than a blocked event loop; the server caps how many run at once. The cost is in
 * each hash string, so it can be raised without breaking the hashes already stored.
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

/**
 * Constant-time in the password; a malformed stored string simply fails to match. The hash runs on
 * the thread pool, off the event loop.
 */
export async function verifyPasswordHash(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d{1,2})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64url');
  if (logN < 1 || logN > 20 || r < 1 || p < 1 || expected.length !== HASH_BYTES) return false;
  const N = 2 ** logN;
  // Parameters scrypt cannot take (r × p too large, say) make the promise reject: no match.
  const actual = await new Promise<Buffer | null>((resolve) =>
    scrypt(
      password.normalize('NFC'),
      Buffer.from(m[4]!, 'base64url'),
      HASH_BYTES,
      { N, r, p, maxmem: 256 * N * r },
      (error, key) => resolve(error ? null : key),
    ),
  ).catch(() => null);
  return actual !== null && timingSafeEqual(actual, expected);
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
