import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto, randomBytes } from '../crypto/index.js';
import type { CryptoProvider } from '../crypto/types.js';
import {
  clampPrivateKey,
  decodeKey,
  encodeKey,
  generatePrivateKey,
  KEY_LENGTH,
  publicKeyOf,
} from './keys.js';

const providers: [string, CryptoProvider][] = [
  ['node', nodeCrypto],
  ['noble', nobleCrypto],
];

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ZERO_KEY = `${'A'.repeat(43)}=`;

// ---------------------------------------------------------------------------------------------
// The real `wg` tool. CI installs wireguard-tools; a missing binary must fail loudly, not skip.

const WG_MISSING =
  'wireguard-tools is required for the wg interop tests, but the `wg` binary was not found on PATH ' +
  '(install it, e.g. `apt-get install wireguard-tools`)';

function wg(args: string[], input?: string): string {
  const result = spawnSync('wg', args, { input, encoding: 'utf8', timeout: 10_000 });
  if (result.error) {
    if ((result.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(WG_MISSING);
    throw result.error;
  }
  if (result.status !== 0) {
    throw new Error(`wg ${args.join(' ')} exited with status ${result.status}: ${result.stderr}`);
  }
  return result.stdout.trim();
}

const WG_KEYS = 20;
let wgPairs: { priv: string; pub: string }[] | undefined;

/** 20 key pairs made by `wg genkey | wg pubkey`, generated once and shared by both providers. */
function wgKeyPairs(): { priv: string; pub: string }[] {
  if (!wgPairs) {
    const pairs = [];
    for (let i = 0; i < WG_KEYS; i++) {
      const priv = wg(['genkey']);
      pairs.push({ priv, pub: wg(['pubkey'], `${priv}\n`) });
    }
    wgPairs = pairs;
  }
  return wgPairs;
}

// ---------------------------------------------------------------------------------------------

describe('encodeKey / decodeKey', () => {
  it('round-trips random and edge-case keys', () => {
    const keys: Uint8Array[] = [
      new Uint8Array(32),
      new Uint8Array(32).fill(0xff),
      Uint8Array.from({ length: 32 }, (_, i) => i),
    ];
    for (let i = 0; i < 50; i++) keys.push(randomBytes(32));
    for (const key of keys) {
      const text = encodeKey(key);
      expect(text).toHaveLength(44);
      expect(text.endsWith('=')).toBe(true);
      expect(text.endsWith('==')).toBe(false);
      expect(decodeKey(text)).toEqual(key);
      expect(encodeKey(decodeKey(text))).toBe(text);
    }
  });

  it('encodes like standard base64 (Buffer) does', () => {
    const key = randomBytes(32);
    expect(encodeKey(key)).toBe(Buffer.from(key).toString('base64'));
    expect(encodeKey(new Uint8Array(32))).toBe(ZERO_KEY);
  });

  it('refuses to encode a key that is not 32 bytes', () => {
    expect(() => encodeKey(new Uint8Array(31))).toThrow(/32 bytes, got 31/);
    expect(() => encodeKey(new Uint8Array(33))).toThrow(/32 bytes, got 33/);
  });

  it('rejects the wrong length, saying what it expected and what it got', () => {
    const good = encodeKey(randomBytes(32));
    expect(() => decodeKey('')).toThrow(/expected 44 base64 characters, got 0/);
    expect(() => decodeKey(good.slice(0, 43))).toThrow(/expected 44 base64 characters, got 43/);
    expect(() => decodeKey(`${good}A`)).toThrow(/expected 44 base64 characters, got 45/);
    // A 33-byte key in base64 is 44 characters with no padding: right length, wrong content.
    expect(() => decodeKey(Buffer.from(randomBytes(33)).toString('base64'))).toThrow(
      /not a valid base64-encoded 32-byte key/,
    );
    // 31 bytes encode to 44 characters ending in '==': also rejected.
    expect(() => decodeKey(Buffer.from(randomBytes(31)).toString('base64'))).toThrow(
      /not a valid base64-encoded 32-byte key/,
    );
  });

  it('rejects characters outside the standard base64 alphabet', () => {
    const good = encodeKey(new Uint8Array(32).fill(0xfb)); // '+' and '/'-rich: "+/v7+/v7..."
    expect(decodeKey(good)).toEqual(new Uint8Array(32).fill(0xfb));
    for (const bad of ['-', '_', '!', ' ', '.', '\n', 'é']) {
      const text = `${good.slice(0, 10)}${bad}${good.slice(11)}`;
      expect(text).toHaveLength(44);
      expect(() => decodeKey(text)).toThrow(/not a valid base64-encoded 32-byte key/);
    }
    // URL-safe base64 of a key with '+'/'/' in it is not accepted either.
    const urlSafe = good.replaceAll('+', '-').replaceAll('/', '_');
    expect(() => decodeKey(urlSafe)).toThrow(/not a valid base64-encoded 32-byte key/);
  });

  it("rejects a 44-character key whose last character sets bits beyond the 32nd byte ('...B=' vs '...A=')", () => {
    expect(decodeKey(ZERO_KEY)).toEqual(new Uint8Array(32));
    const nonCanonical = `${'A'.repeat(42)}B=`;
    // A lenient decoder would silently drop the extra bits and return the same all-zero key.
    expect(new Uint8Array(Buffer.from(nonCanonical, 'base64'))).toEqual(new Uint8Array(32));
    expect(() => decodeKey(nonCanonical)).toThrow(/not a valid base64-encoded 32-byte key/);

    // Exhaustively: the 43rd character carries 4 data bits + 2 padding bits, which must be zero.
    const prefix = encodeKey(randomBytes(32)).slice(0, 42);
    for (const [index, c] of [...BASE64_ALPHABET].entries()) {
      const text = `${prefix}${c}=`;
      if (index % 4 === 0) {
        expect(encodeKey(decodeKey(text))).toBe(text);
      } else {
        expect(() => decodeKey(text), `last character ${c}`).toThrow(
          /not a valid base64-encoded 32-byte key/,
        );
      }
    }
  });

  it("rejects a key without its '=' padding, or with the '=' out of place", () => {
    const good = encodeKey(randomBytes(32));
    expect(() => decodeKey(good.slice(0, 43))).toThrow(/expected 44 base64 characters, got 43/);
    expect(() => decodeKey(`${good.slice(0, 43)}A`)).toThrow(/not a valid base64-encoded 32-byte key/);
    expect(() => decodeKey(`${good.slice(0, 42)}=A`)).toThrow(/not a valid base64-encoded 32-byte key/);
    expect(() => decodeKey(`=${good.slice(0, 43)}`)).toThrow(/not a valid base64-encoded 32-byte key/);
  });

  it('names the field in its error messages', () => {
    expect(() => decodeKey('short', 'PublicKey')).toThrow(
      /^PublicKey: expected 44 base64 characters, got 5$/,
    );
    expect(() => decodeKey(`${'A'.repeat(42)}B=`, 'PrivateKey')).toThrow(/^PrivateKey: /);
    expect(() => decodeKey('short')).toThrow(/^key: /);
  });

  it('rejects a non-string', () => {
    expect(() => decodeKey(undefined as unknown as string)).toThrow(/expected a base64 string/);
    expect(() => decodeKey(new Uint8Array(32) as unknown as string)).toThrow(/expected a base64 string/);
  });
});

describe('generatePrivateKey / clampPrivateKey', () => {
  it('asks the random source for exactly 32 bytes', () => {
    const requested: number[] = [];
    const key = generatePrivateKey((n) => {
      requested.push(n);
      return randomBytes(n);
    });
    expect(requested).toEqual([KEY_LENGTH]);
    expect(key).toHaveLength(32);
  });

  it('clears the low 3 bits of byte 0, clears bit 255 and sets bit 254', () => {
    const ones = generatePrivateKey(() => new Uint8Array(32).fill(0xff));
    expect(ones[0]).toBe(0xf8);
    expect(ones[31]).toBe(0x7f);
    expect(ones.subarray(1, 31).every((b) => b === 0xff)).toBe(true);

    const zeros = generatePrivateKey(() => new Uint8Array(32));
    expect(zeros[0]).toBe(0x00);
    expect(zeros[31]).toBe(0x40);
    expect(zeros.subarray(1, 31).every((b) => b === 0)).toBe(true);

    for (let i = 0; i < 200; i++) {
      const key = generatePrivateKey(randomBytes);
      expect(key[0]! & 0b0000_0111).toBe(0);
      expect(key[31]! & 0b1000_0000).toBe(0);
      expect(key[31]! & 0b0100_0000).toBe(0b0100_0000);
    }
  });

  it('clamps in place, leaves the middle bytes alone and is idempotent', () => {
    const raw = randomBytes(32);
    const before = raw.slice();
    const clamped = clampPrivateKey(raw);
    expect(clamped).toBe(raw);
    expect(clamped.subarray(1, 31)).toEqual(before.subarray(1, 31));
    expect(clamped[0]).toBe(before[0]! & 0xf8);
    expect(clamped[31]).toBe((before[31]! & 0x7f) | 0x40);
    expect(clampPrivateKey(clamped.slice())).toEqual(clamped);
  });
});

describe('interop with wg (wireguard-tools)', () => {
  it('has the wg binary', () => {
    expect(wg(['--version'])).toMatch(/wireguard-tools/i);
  });

  it('wg genkey keys decode canonically and are already clamped', () => {
    const pairs = wgKeyPairs();
    expect(pairs).toHaveLength(WG_KEYS);
    expect(new Set(pairs.map((p) => p.priv)).size).toBe(WG_KEYS);
    for (const { priv, pub } of pairs) {
      const key = decodeKey(priv, 'PrivateKey');
      expect(encodeKey(key)).toBe(priv);
      expect(clampPrivateKey(key.slice())).toEqual(key);
      expect(encodeKey(decodeKey(pub, 'PublicKey'))).toBe(pub);
    }
  });

  describe.each(providers)('with the %s provider', (_name, crypto) => {
    it(`derives the same public key as \`wg pubkey\` for ${WG_KEYS} \`wg genkey\` keys`, () => {
      for (const { priv, pub } of wgKeyPairs()) {
        expect(encodeKey(publicKeyOf(crypto, decodeKey(priv))), `public key of ${priv}`).toBe(pub);
      }
    });

    it(`produces keys that \`wg pubkey\` maps to our public key (${WG_KEYS} keys)`, () => {
      for (let i = 0; i < WG_KEYS; i++) {
        const priv = generatePrivateKey(randomBytes);
        const text = encodeKey(priv);
        expect(wg(['pubkey'], `${text}\n`), `wg pubkey of ${text}`).toBe(
          encodeKey(publicKeyOf(crypto, priv)),
        );
      }
    });
  });
});
