import { blake2s as nobleBlake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { blake2s, blake2sKeyed, hmacBlake2s } from './blake2s.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('BLAKE2s', () => {
  it('matches RFC 7693 Appendix B', () => {
    expect(hex(blake2s(new TextEncoder().encode('abc')))).toBe(
      '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982',
    );
  });

  it('agrees with @noble for every length across block boundaries, keyed and unkeyed, split anyhow', () => {
    const rng = new Rng(7);
    for (let len = 0; len <= 300; len++) {
      const data = rng.bytes(len);
      const key = rng.bytes(1 + rng.int(32));
      const outLen = 1 + rng.int(32);
      expect(hex(blake2s(data))).toBe(hex(nobleBlake2s(data)));
      expect(hex(blake2sKeyed(key, data, outLen))).toBe(hex(nobleBlake2s(data, { key, dkLen: outLen })));
      const cut = rng.int(len + 1);
      expect(hex(blake2s(data.subarray(0, cut), data.subarray(cut)))).toBe(hex(nobleBlake2s(data)));
    }
  });

  it('HMAC agrees with @noble for keys shorter and longer than the block', () => {
    const rng = new Rng(8);
    for (let i = 0; i < 200; i++) {
      const key = rng.bytes(rng.int(100));
      const a = rng.bytes(rng.int(150));
      const b = rng.bytes(rng.int(10));
      const expected = nobleHmac(nobleBlake2s, key, Uint8Array.from([...a, ...b]));
      expect(hex(hmacBlake2s(key, a, b))).toBe(hex(expected));
    }
  });

  it('refuses bad parameters', () => {
    const data = new Uint8Array(1);
    expect(() => blake2sKeyed(new Uint8Array(1), data, 0)).toThrow(RangeError);
    expect(() => blake2sKeyed(new Uint8Array(1), data, 33)).toThrow(RangeError);
    expect(() => blake2sKeyed(new Uint8Array(33), data, 16)).toThrow(RangeError);
    // A refused call leaves nothing behind that changes the next result.
    expect(hex(blake2s(new TextEncoder().encode('abc')))).toBe(
      '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982',
    );
  });
});
