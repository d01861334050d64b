import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../crypto/index.js';
import type { CryptoProvider } from '../crypto/types.js';
import { kdf } from './kdf.js';

interface KdfVector {
  key: string;
  input: string;
  t0: string;
  t1: string;
  t2: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../../test/vectors/wireguard-kdf.json', import.meta.url), 'utf8'),
) as { source: string; vectors: KdfVector[] };

const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const providers: [string, CryptoProvider][] = [
  ['node', nodeCrypto],
  ['noble', nobleCrypto],
];

describe('wireguard-kdf.json fixture', () => {
  it('holds the three wireguard-go vectors', () => {
    expect(fixture.source).toContain('wireguard-go');
    expect(fixture.vectors).toHaveLength(3);
    for (const v of fixture.vectors) {
      for (const t of [v.t0, v.t1, v.t2]) expect(t).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe.each(providers)('kdf with the %s provider', (_name, crypto) => {
  describe.each(fixture.vectors.map((v, i) => [i, v] as const))('wireguard-go vector %i', (_i, v) => {
    const key = fromHex(v.key);
    const input = fromHex(v.input);

    it('KDF1 yields t0', () => {
      const out = kdf(crypto, 1, key, input);
      expect(out.map(toHex)).toEqual([v.t0]);
    });

    it('KDF2 yields t0, t1', () => {
      const out = kdf(crypto, 2, key, input);
      expect(out.map(toHex)).toEqual([v.t0, v.t1]);
    });

    it('KDF3 yields t0, t1, t2', () => {
      const out = kdf(crypto, 3, key, input);
      expect(out.map(toHex)).toEqual([v.t0, v.t1, v.t2]);
    });

    it('leaves its inputs untouched and returns independent 32-byte outputs', () => {
      const keyCopy = key.slice();
      const inputCopy = input.slice();
      const out = kdf(crypto, 3, key, input);
      expect(key).toEqual(keyCopy);
      expect(input).toEqual(inputCopy);
      for (const t of out) expect(t).toHaveLength(32);
      // Wiping one output (as callers do with spent keys) must not disturb the others.
      out[0]!.fill(0);
      expect(toHex(out[1]!)).toBe(v.t1);
      expect(toHex(out[2]!)).toBe(v.t2);
    });
  });
});
