import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPasswordHash } from './password.js';

describe('password hashes', () => {
  const hash = hashPassword('correct horse');

  it('carry their algorithm, cost and salt', () => {
    expect(hash).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(hashPassword('correct horse')).not.toBe(hash);
  });

  it('verify the right password only', () => {
    expect(verifyPasswordHash('correct horse', hash)).toBe(true);
    expect(verifyPasswordHash('correct horse ', hash)).toBe(false);
    expect(verifyPasswordHash('', hash)).toBe(false);
  });

  it('treat Unicode forms of the same text alike', () => {
    expect(verifyPasswordHash('cafe\u0301', hashPassword('caf\u00e9'))).toBe(true);
  });

  it('read the cost from the stored string', () => {
    const cheaper = hash.replace('scrypt$15$', 'scrypt$14$');
    expect(verifyPasswordHash('correct horse', cheaper)).toBe(false);
  });

  it('reject malformed stored strings instead of throwing', () => {
    for (const bad of ['', 'bcrypt$...', 'scrypt$99$8$1$aaaa$bbbb', hash.slice(0, -2), `${hash}$x`]) {
      expect(verifyPasswordHash('correct horse', bad)).toBe(false);
    }
  });
});
