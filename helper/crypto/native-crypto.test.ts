import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../src/crypto/index.js';
import { Rng } from '../../test/support/rng.js';
import { helperCrypto, nativeCrypto } from './native-crypto.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('native AEAD (OpenSSL EVP through the addon)', () => {
  const crypto = nativeCrypto();

  it('is what burrowd picks here', () => {
    expect(helperCrypto().name).toBe('native');
  });

  it('agrees with node:crypto on random keys, counters, lengths and associated data', () => {
    const rng = new Rng(99);
    for (let i = 0; i < 300; i++) {
      const key = rng.bytes(32);
      const counter = rng.chance(0.5) ? rng.int(1000) : 2 ** 32 + rng.int(2 ** 20) * 1024;
      const plaintext = rng.bytes(rng.int(2000));
      const ad = rng.chance(0.5) ? rng.bytes(rng.int(64)) : null;
      const a = new Uint8Array(plaintext.length + 20);
      const b = new Uint8Array(plaintext.length + 20);
      expect(crypto.aead(key).seal(counter, plaintext, ad, a, 4)).toBe(plaintext.length + 16);
      nodeCrypto.aead(key).seal(counter, plaintext, ad, b, 4);
      expect(hex(a)).toBe(hex(b));
      expect(hex(crypto.aead(key).open(counter, a.subarray(4), ad)!)).toBe(hex(plaintext));
    }
  });

  it('refuses tampering, wrong counters, wrong ad and short input without throwing', () => {
    const key = new Uint8Array(32).fill(3);
    const aead = crypto.aead(key);
    const sealed = new Uint8Array(64 + 16);
    aead.seal(7, new Uint8Array(64).fill(9), new Uint8Array([1]), sealed, 0);
    const bad = sealed.slice();
    bad[10]! ^= 1;
    expect(aead.open(7, bad, new Uint8Array([1]))).toBeNull();
    expect(aead.open(8, sealed, new Uint8Array([1]))).toBeNull();
    expect(aead.open(7, sealed, new Uint8Array([2]))).toBeNull();
    expect(aead.open(7, sealed.subarray(0, 15), null)).toBeNull();
    expect(aead.open(-1, sealed, null)).toBeNull();
    expect(aead.open(7, sealed, new Uint8Array([1]))).not.toBeNull();
  });

  it('rejects bad arguments with clear errors, and a wiped key is gone', () => {
    expect(() => crypto.aead(new Uint8Array(31))).toThrow(/32 bytes/);
    const aead = crypto.aead(new Uint8Array(32));
    expect(() => aead.seal(0, new Uint8Array(10), null, new Uint8Array(20), 0)).toThrow(/no room/);
    expect(() => aead.seal(1.5, new Uint8Array(1), null, new Uint8Array(32), 0)).toThrow(/counter/);
    aead.wipe();
    expect(() => aead.seal(0, new Uint8Array(1), null, new Uint8Array(32), 0)).toThrow(/not a live/);
  });
});
