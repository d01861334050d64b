import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../src/crypto/index.js';
import { chacha20Poly1305Open, chacha20Poly1305Seal } from '../../src/crypto/node.js';
import { describeVectors } from '../../src/crypto/testing.js';
import { Rng } from '../../test/support/rng.js';
import { helperCrypto, nativeCrypto } from './native-crypto.js';

const hex = (b: Uint8Array | null) => (b === null ? null : bytesToHex(b));
const crypto = nativeCrypto();

// The native provider has no ChaCha20-Poly1305 with an arbitrary nonce: its Aead is checked against node's.
describeVectors('native', crypto, chacha20Poly1305Seal, chacha20Poly1305Open);

describe('native crypto (OpenSSL EVP and C through the addon)', () => {
  it('is what burrowd picks here', () => {
    expect(helperCrypto().name).toBe('native');
  });

  it('agrees with @noble on X25519 for random keys, including ones it has to import again', () => {
    const rng = new Rng(7);
    // More private keys than the addon keeps imported, used again in a shuffled order.
    const privates = Array.from({ length: 20 }, () => rng.bytes(32));
    for (let round = 0; round < 300; round++) {
      const privateKey = rng.pick(privates);
      const publicKey = rng.chance(0.5) ? rng.bytes(32) : nobleCrypto.x25519PublicKey(rng.pick(privates));
      expect(hex(crypto.x25519(privateKey, publicKey))).toBe(hex(nobleCrypto.x25519(privateKey, publicKey)));
      expect(hex(crypto.x25519PublicKey(privateKey))).toBe(hex(nobleCrypto.x25519PublicKey(privateKey)));
    }
  });

  it('answers as the references do for low-order points of any private key, cached or not', () => {
    const rng = new Rng(8);
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ].map(hexToBytes);
    const known = rng.bytes(32);
    crypto.x25519PublicKey(known);
    for (const point of lowOrder) {
      for (const privateKey of [known, rng.bytes(32)]) {
        expect(crypto.x25519(privateKey, point)).toBeNull();
        expect(nobleCrypto.x25519(privateKey, point)).toBeNull();
        expect(nodeCrypto.x25519(privateKey, point)).toBeNull();
      }
    }
    // A refused DH leaves nothing behind: the next one with the same key works.
    const peer = nobleCrypto.x25519PublicKey(rng.bytes(32));
    expect(hex(crypto.x25519(known, peer))).toBe(hex(nobleCrypto.x25519(known, peer)));
  });

  it('refuses keys of the wrong length or type as the node provider does', () => {
    const good = new Uint8Array(32).fill(1);
    for (const bad of [new Uint8Array(31), new Uint8Array(33), new Uint8Array(0)]) {
      expect(() => crypto.x25519(bad, good)).toThrow(RangeError);
      expect(() => nodeCrypto.x25519(bad, good)).toThrow(RangeError);
      expect(() => crypto.x25519(good, bad)).toThrow(RangeError);
      expect(() => crypto.x25519PublicKey(bad)).toThrow(RangeError);
    }
    expect(() => crypto.x25519(Array(32).fill(1) as unknown as Uint8Array, good)).toThrow(TypeError);
    expect(() => crypto.x25519(new Uint16Array(16) as unknown as Uint8Array, good)).toThrow(TypeError);
  });

  it('agrees with @noble on BLAKE2s, keyed BLAKE2s and HMAC for random inputs', () => {
    const rng = new Rng(9);
    for (let round = 0; round < 300; round++) {
      // Lengths around the 64-byte block, where the last-block rule matters, and longer.
      const parts = Array.from({ length: rng.int(20) }, () =>
        rng.bytes(rng.pick([0, 1, 63, 64, 65, 128, rng.int(300)])),
      );
      expect(hex(crypto.hash(...parts))).toBe(hex(nobleCrypto.hash(...parts)));
      const key = rng.bytes(rng.int(100));
      expect(hex(crypto.hmac(key, ...parts))).toBe(hex(nobleCrypto.hmac(key, ...parts)));
      const macKey = rng.bytes(1 + rng.int(32));
      const data = rng.bytes(rng.int(300));
      const outLen = 1 + rng.int(32);
      expect(hex(crypto.keyedHash(macKey, data, outLen))).toBe(
        hex(nobleCrypto.keyedHash(macKey, data, outLen)),
      );
    }
  });

  it('agrees with @noble on the KDF for random chaining keys and inputs', () => {
    const rng = new Rng(10);
    for (let round = 0; round < 200; round++) {
      const key = rng.bytes(rng.pick([32, rng.int(100)]));
      const input = rng.bytes(rng.pick([0, 32, rng.int(200)]));
      const n = (1 + rng.int(3)) as 1 | 2 | 3;
      expect(crypto.kdf(n, key, input).map(hex)).toEqual(nobleCrypto.kdf(n, key, input).map(hex));
    }
    expect(() => crypto.kdf(0 as 1, new Uint8Array(32), new Uint8Array(0))).toThrow(RangeError);
    expect(() => crypto.kdf(4 as 3, new Uint8Array(32), new Uint8Array(0))).toThrow(RangeError);
    expect(() => crypto.kdf(1, 'key' as unknown as Uint8Array, new Uint8Array(0))).toThrow(TypeError);
  });

  it('refuses bad BLAKE2s arguments as the JavaScript version does', () => {
    const data = new Uint8Array(3);
    for (const provider of [crypto, nodeCrypto]) {
      expect(() => provider.keyedHash(new Uint8Array(33), data, 16)).toThrow(RangeError);
      expect(() => provider.keyedHash(new Uint8Array(16), data, 0)).toThrow(RangeError);
      expect(() => provider.keyedHash(new Uint8Array(16), data, 33)).toThrow(RangeError);
    }
    expect(() => crypto.hash(data, 'abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => crypto.hmac(data, data, null as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('agrees with node:crypto on AEAD for random keys, counters, lengths and associated data', () => {
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
      expect(hex(crypto.aead(key).open(counter, a.subarray(4), ad))).toBe(hex(plaintext));
    }
  });

  it('gives the same answers on the first message of a key (one-shot) and on later ones', () => {
    const rng = new Rng(5);
    const key = rng.bytes(32);
    const sealer = crypto.aead(key);
    const opener = crypto.aead(key);
    const reference = nodeCrypto.aead(key);
    key.fill(0); // each instance keeps its own copy, through the switch to a context too
    for (let counter = 0; counter < 5; counter++) {
      const plaintext = rng.bytes(rng.int(200));
      const sealed = new Uint8Array(plaintext.length + 16);
      const expected = new Uint8Array(plaintext.length + 16);
      sealer.seal(counter, plaintext, null, sealed, 0);
      reference.seal(counter, plaintext, null, expected, 0);
      expect(hex(sealed)).toBe(hex(expected));
      const forged = sealed.slice();
      forged[0]! ^= 1;
      expect(opener.open(counter, forged, null)).toBeNull();
      expect(hex(opener.open(counter, sealed, null))).toBe(hex(plaintext));
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

  it('rejects bad arguments with clear errors, and a wiped key is gone at any stage', () => {
    expect(() => crypto.aead(new Uint8Array(31))).toThrow(/32 bytes/);
    const aead = crypto.aead(new Uint8Array(32));
    expect(() => aead.seal(0, new Uint8Array(10), null, new Uint8Array(20), 0)).toThrow(/no room/);
    expect(() => aead.seal(1.5, new Uint8Array(1), null, new Uint8Array(32), 0)).toThrow(/counter/);
    // Wiped before any use, after the one-shot first message, and once it has its context.
    for (const uses of [0, 1, 3]) {
      const instance = crypto.aead(new Uint8Array(32).fill(uses));
      for (let i = 0; i < uses; i++) instance.seal(i, new Uint8Array(1), null, new Uint8Array(17), 0);
      instance.wipe();
      expect(() => instance.seal(9, new Uint8Array(1), null, new Uint8Array(32), 0)).toThrow(/not a live/);
      expect(() => instance.open(9, new Uint8Array(32), null)).toThrow(/not a live/);
    }
  });
});
