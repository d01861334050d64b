import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPasswordHash } from './password.js';

describe('password hashes', () => {
  const hash = hashPassword('correct horse');

  it('carry their algorithm, cost and salt', () => {
    expect(hash).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(hashPassword('correct horse')).not.toBe(hash);
  });

  it('are checked off the event loop: a timer keeps firing while four checks run', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    await Promise.all([1, 2, 3, 4].map(() => verifyPasswordHash('wrong', hash)));
    clearInterval(timer);
    const elapsed = performance.now() - started;
    // Synchronous hashing would hold the loop for the whole run and let at most one tick through.
    expect(ticks).toBeGreaterThan(elapsed / 5 / 4);
  });

  it('verify the right password only', async () => {
    expect(await verifyPasswordHash('correct horse', hash)).toBe(true);
    expect(await verifyPasswordHash('correct horse ', hash)).toBe(false);
    expect(await verifyPasswordHash('', hash)).toBe(false);
  });

  it('treat Unicode forms of the same text alike', async () => {
    expect(await verifyPasswordHash('cafe\u0301', hashPassword('caf\u00e9'))).toBe(true);
  });

  it('read the cost from the stored string', async () => {
    const cheaper = hash.replace('scrypt$15$', 'scrypt$14$');
    expect(await verifyPasswordHash('correct horse', cheaper)).toBe(false);
  });

  it('reject malformed stored strings instead of throwing', async () => {
    for (const bad of ['', 'bcrypt$...', 'scrypt$99$8$1$aaaa$bbbb', hash.slice(0, -2), `${hash}$x`]) {
      expect(await verifyPasswordHash('correct horse', bad)).toBe(false);
    }
  });
});
