import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto, randomBytes } from './index.js';
import * as noble from './noble.js';
import * as node from './node.js';

// node:crypto (OpenSSL) and @noble must agree on random inputs for every primitive.

const ROUNDS = 200;
const MAX_LENGTH = 2000;

const hex = (bytes: Uint8Array | null): string | null => (bytes === null ? null : bytesToHex(bytes));
const randomInt = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));
const randomLength = (): number => randomInt(0, MAX_LENGTH);
const randomParts = (): Uint8Array[] =>
  Array.from({ length: randomInt(0, 4) }, () => randomBytes(randomInt(0, 500)));
const randomAd = (): Uint8Array | null => (Math.random() < 0.25 ? null : randomBytes(randomInt(0, 100)));

// Counters near the 32-bit boundary and the top of the safe range, where the nonce's two halves matter.
const EDGE_COUNTERS = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 48, Number.MAX_SAFE_INTEGER];
const randomCounter = (round: number): number =>
  EDGE_COUNTERS[round] ?? (round % 2 === 0 ? randomInt(0, 2 ** 32) : randomInt(0, Number.MAX_SAFE_INTEGER));

describe('node:crypto and @noble agree', () => {
  it('on X25519 public keys and shared secrets', () => {
    for (let round = 0; round < ROUNDS; round++) {
      const privateKey = randomBytes(32);
      const publicKey = randomBytes(32);
      expect(hex(nodeCrypto.x25519PublicKey(privateKey))).toBe(hex(nobleCrypto.x25519PublicKey(privateKey)));
      expect(hex(nodeCrypto.x25519(privateKey, publicKey))).toBe(
        hex(nobleCrypto.x25519(privateKey, publicKey)),
      );
    }
  });

  it('on hash', () => {
    for (let round = 0; round < ROUNDS; round++) {
      const parts = randomParts();
      expect(hex(nodeCrypto.hash(...parts))).toBe(hex(nobleCrypto.hash(...parts)));
    }
  });

  it('on keyedHash', () => {
    for (let round = 0; round < ROUNDS; round++) {
      const key = randomBytes(randomInt(1, 32));
      const data = randomBytes(randomLength());
      const outLen = randomInt(1, 32);
      expect(hex(nodeCrypto.keyedHash(key, data, outLen))).toBe(
        hex(nobleCrypto.keyedHash(key, data, outLen)),
      );
    }
  });

  it('on hmac, including keys longer than a block', () => {
    for (let round = 0; round < ROUNDS; round++) {
      const key = randomBytes(randomInt(0, 100));
      const parts = randomParts();
      expect(hex(nodeCrypto.hmac(key, ...parts))).toBe(hex(nobleCrypto.hmac(key, ...parts)));
    }
  });

  it('on the KDF', () => {
    for (let round = 0; round < ROUNDS; round++) {
      const key = randomBytes(randomInt(0, 64));
      const input = randomBytes(randomInt(0, 100));
      const n = randomInt(1, 3) as 1 | 2 | 3;
      expect(nodeCrypto.kdf(n, key, input).map(hex)).toEqual(nobleCrypto.kdf(n, key, input).map(hex));
    }
  });

  it('on aead seal and open, each opening what the other sealed', () => {
    for (let round = 0; round < ROUNDS; round++) {
      const key = randomBytes(32);
      const counter = randomCounter(round);
      const plaintext = randomBytes(randomLength());
      const ad = randomAd();
      const offset = randomInt(0, 8);
      const byNode = new Uint8Array(offset + plaintext.length + 16);
      const byNoble = new Uint8Array(offset + plaintext.length + 16);
      expect(nodeCrypto.aead(key).seal(counter, plaintext, ad, byNode, offset)).toBe(plaintext.length + 16);
      expect(nobleCrypto.aead(key).seal(counter, plaintext, ad, byNoble, offset)).toBe(plaintext.length + 16);
      expect(hex(byNode)).toBe(hex(byNoble));
      const sealed = byNode.subarray(offset);
      expect(hex(nodeCrypto.aead(key).open(counter, sealed, ad))).toBe(hex(plaintext));
      expect(hex(nobleCrypto.aead(key).open(counter, sealed, ad))).toBe(hex(plaintext));
    }
  });

  it('on rejecting the same tampered aead packets', () => {
    for (let round = 0; round < ROUNDS; round++) {
      const key = randomBytes(32);
      const counter = randomCounter(round);
      const ad = randomAd();
      const sealed = new Uint8Array(randomInt(0, 64) + 16);
      nodeCrypto.aead(key).seal(counter, sealed.subarray(0, sealed.length - 16), ad, sealed, 0);
      sealed[randomInt(0, sealed.length - 1)]! ^= 1 << randomInt(0, 7);
      expect(nodeCrypto.aead(key).open(counter, sealed, ad)).toBeNull();
      expect(nobleCrypto.aead(key).open(counter, sealed, ad)).toBeNull();
    }
  });

  it('on ChaCha20-Poly1305 with arbitrary 12-byte nonces', () => {
    for (let round = 0; round < ROUNDS; round++) {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const plaintext = randomBytes(randomLength());
      const ad = randomAd();
      const sealed = node.chacha20Poly1305Seal(key, nonce, plaintext, ad);
      expect(hex(sealed)).toBe(hex(noble.chacha20Poly1305Seal(key, nonce, plaintext, ad)));
      expect(hex(noble.chacha20Poly1305Open(key, nonce, sealed, ad))).toBe(hex(plaintext));
      expect(hex(node.chacha20Poly1305Open(key, nonce, sealed, ad))).toBe(hex(plaintext));
    }
  });

  it('on xseal and xopen', () => {
    for (let round = 0; round < ROUNDS; round++) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const plaintext = randomBytes(randomLength());
      const ad = randomAd();
      const sealed = nodeCrypto.xseal(key, nonce, plaintext, ad);
      expect(hex(sealed)).toBe(hex(nobleCrypto.xseal(key, nonce, plaintext, ad)));
      expect(hex(nobleCrypto.xopen(key, nonce, sealed, ad))).toBe(hex(plaintext));
      expect(hex(nodeCrypto.xopen(key, nonce, sealed, ad))).toBe(hex(plaintext));
    }
  });
});
