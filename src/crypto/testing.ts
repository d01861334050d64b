/**
 * The known-answer vectors every CryptoProvider must pass (RFC 8439, RFC 7748, RFC 7693, the BLAKE2
 * KATs, draft-irtf-cfrg-xchacha-03), as a suite to run against each: node and noble
 * (vectors.test.ts) and the helper's native provider (helper/crypto/native-crypto.test.ts).
 */
import { readFileSync } from 'node:fs';
import { blake2s } from '@noble/hashes/blake2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { randomBytes } from './index.js';
import type { CryptoProvider } from './types.js';

/** ChaCha20-Poly1305 with an arbitrary 12-byte nonce (ciphertext || tag), for the RFC's own vectors. */
export type Seal = (
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array | null,
) => Uint8Array;
export type Open = (
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array | null,
) => Uint8Array | null;

const hex = (bytes: Uint8Array | null): string | null => (bytes === null ? null : bytesToHex(bytes));
const sequence = (length: number, start = 0): Uint8Array => Uint8Array.from({ length }, (_, i) => start + i);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
};

// The same plaintext, AAD and key serve RFC 8439 §2.8.2 and draft-irtf-cfrg-xchacha-03 §A.3.1.
const SUNSCREEN = utf8ToBytes(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const SUNSCREEN_AD = hexToBytes('50515253c0c1c2c3c4c5c6c7');
const SUNSCREEN_KEY = sequence(32, 0x80);

// RFC 8439 §2.8.2.
const RFC8439_NONCE = hexToBytes('070000004041424344454647');
const RFC8439_SEALED =
  'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b' +
  '1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
  '3ff4def08e4b7a9de576d26586cec64b6116' +
  '1ae10b594f09e26a7e902ecbd0600691';

// RFC 8439 Appendix A.5 (decryption).
const A5_KEY = hexToBytes('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0');
const A5_NONCE = hexToBytes('000000000102030405060708');
const A5_AD = hexToBytes('f33388860000000000004e91');
const A5_SEALED = hexToBytes(
  '64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0' +
    'bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855' +
    '9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c767b804d46a59b5216cde7a4e9' +
    '9040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a' +
    '0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130' +
    '305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b02709b' +
    'eead9d67890cbb22392336fea1851f38',
);
const A5_PLAINTEXT =
  'Internet-Drafts are draft documents valid for a maximum of six months and may be updated, replaced, ' +
  'or obsoleted by other documents at any time. It is inappropriate to use Internet-Drafts as reference ' +
  'material or to cite them other than as /\u201cwork in progress./\u201d';

// draft-irtf-cfrg-xchacha-03 Appendix A.3.1.
const XCHACHA_NONCE = sequence(24, 0x40);
const XCHACHA_SEALED =
  'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39' +
  'ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9' +
  '21f9664c97637da9768812f615c68b13b52e' +
  'c0875924c1c7987947deafd8780acf49';

// RFC 7748 §5.2.
const X25519_VECTORS = [
  {
    scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    // The top bit of this u is set; X25519 must ignore it.
    scalar: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    u: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    out: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  },
];

// RFC 7748 §6.1.
const ALICE_PRIVATE = '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a';
const ALICE_PUBLIC = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const BOB_PRIVATE = '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb';
const BOB_PUBLIC = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
const ALICE_BOB_SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

// Points of order 1, 2, 4 and 8 (u = 0, 1, p - 1 and the two order-8 points), plus p itself, a
// non-canonical encoding of 0: X25519 of any of them with a clamped scalar is all zeros.
const LOW_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

// BLAKE2 reference KAT (testvectors/blake2-kat.json): keyed BLAKE2s-256, key 00..1f, input 00..(n-1).
const KEYED_BLAKE2S = [
  { length: 0, out: '48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49' },
  { length: 1, out: '40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1' },
  { length: 64, out: '8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4' },
];

/** WireGuard's KDF outputs for three inputs, computed by wireguard-go (test/vectors/wireguard-kdf.json). */
const KDF_FIXTURE = JSON.parse(
  readFileSync(new URL('../../test/vectors/wireguard-kdf.json', import.meta.url), 'utf8'),
) as { source: string; vectors: { key: string; input: string; t0: string; t1: string; t2: string }[] };

/** HMAC (RFC 2104) built by hand over unkeyed BLAKE2s-256 (64-byte block), independent of any provider. */
function referenceHmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  const block = new Uint8Array(64);
  block.set(key.length > 64 ? blake2s(key) : key);
  const inner = blake2s(
    concat(
      block.map((b) => b ^ 0x36),
      message,
    ),
  );
  return blake2s(
    concat(
      block.map((b) => b ^ 0x5c),
      inner,
    ),
  );
}

/**
 * Defines the vector tests for `crypto`. `seal` and `open` take any nonce; the provider's `aead`
 * is checked against them, so a provider without its own may pass a reference's.
 */
export function describeVectors(name: string, crypto: CryptoProvider, seal: Seal, open: Open): void {
  describe(`${name} provider`, () => {
    describe('ChaCha20-Poly1305', () => {
      it('matches RFC 8439 §2.8.2', () => {
        expect(hex(seal(SUNSCREEN_KEY, RFC8439_NONCE, SUNSCREEN, SUNSCREEN_AD))).toBe(RFC8439_SEALED);
        const opened = open(SUNSCREEN_KEY, RFC8439_NONCE, hexToBytes(RFC8439_SEALED), SUNSCREEN_AD);
        expect(hex(opened)).toBe(hex(SUNSCREEN));
      });

      it('decrypts RFC 8439 Appendix A.5', () => {
        const opened = open(A5_KEY, A5_NONCE, A5_SEALED, A5_AD);
        expect(opened).not.toBeNull();
        expect(new TextDecoder().decode(opened!)).toBe(A5_PLAINTEXT);
      });

      it('builds the nonce as 4 zero bytes and the counter in 64-bit little-endian', () => {
        const key = sequence(32);
        const plaintext = utf8ToBytes('counter layout');
        for (const [counter, nonce] of [
          [0, '000000000000000000000000'],
          [0x01020304, '000000000403020100000000'],
          [2 ** 40 + 5, '000000000500000000010000'],
          [Number.MAX_SAFE_INTEGER, '00000000ffffffffffff1f00'],
        ] as const) {
          const out = new Uint8Array(plaintext.length + 16);
          crypto.aead(key).seal(counter, plaintext, null, out, 0);
          expect(hex(out)).toBe(hex(seal(key, hexToBytes(nonce), plaintext, null)));
        }
      });

      it('writes at outOffset, returns the length and leaves the rest of out alone', () => {
        const plaintext = utf8ToBytes('hello');
        const out = new Uint8Array(40).fill(0xee);
        expect(crypto.aead(SUNSCREEN_KEY).seal(7, plaintext, SUNSCREEN_AD, out, 10)).toBe(21);
        expect(out.subarray(0, 10).every((b) => b === 0xee)).toBe(true);
        expect(out.subarray(31).every((b) => b === 0xee)).toBe(true);
        expect(hex(crypto.aead(SUNSCREEN_KEY).open(7, out.subarray(10, 31), SUNSCREEN_AD))).toBe(
          hex(plaintext),
        );
      });

      it('throws instead of writing past the end of out', () => {
        expect(() =>
          crypto.aead(SUNSCREEN_KEY).seal(0, new Uint8Array(5), null, new Uint8Array(20), 0),
        ).toThrow(RangeError);
      });

      it('treats a null and an empty AD alike', () => {
        const aead = crypto.aead(SUNSCREEN_KEY);
        const out = new Uint8Array(SUNSCREEN.length + 16);
        aead.seal(3, SUNSCREEN, null, out, 0);
        expect(hex(aead.open(3, out, new Uint8Array(0)))).toBe(hex(SUNSCREEN));
      });

      it('rejects tampered ciphertext, tag, AD or counter, and short input, without throwing', () => {
        const aead = crypto.aead(SUNSCREEN_KEY);
        const sealed = new Uint8Array(SUNSCREEN.length + 16);
        aead.seal(9, SUNSCREEN, SUNSCREEN_AD, sealed, 0);
        expect(hex(aead.open(9, sealed, SUNSCREEN_AD))).toBe(hex(SUNSCREEN));
        for (const index of [0, SUNSCREEN.length - 1, SUNSCREEN.length, sealed.length - 1]) {
          const tampered = sealed.slice();
          tampered[index]! ^= 1;
          expect(aead.open(9, tampered, SUNSCREEN_AD)).toBeNull();
        }
        const ad = SUNSCREEN_AD.slice();
        ad[0]! ^= 1;
        expect(aead.open(9, sealed, ad)).toBeNull();
        expect(aead.open(9, sealed, null)).toBeNull();
        expect(aead.open(10, sealed, SUNSCREEN_AD)).toBeNull();
        for (let length = 0; length < 16; length++) {
          expect(aead.open(9, sealed.subarray(0, length), SUNSCREEN_AD)).toBeNull();
          expect(open(SUNSCREEN_KEY, RFC8439_NONCE, sealed.subarray(0, length), null)).toBeNull();
        }
      });

      it('rejects a counter that is not a non-negative safe integer', () => {
        const aead = crypto.aead(SUNSCREEN_KEY);
        const out = new Uint8Array(16);
        for (const counter of [-1, 1.5, 2 ** 53, Number.NaN]) {
          expect(() => aead.seal(counter, new Uint8Array(0), null, out, 0)).toThrow(RangeError);
          expect(aead.open(counter, out, null)).toBeNull();
        }
      });

      it('keeps its own copy of the key', () => {
        const key = sequence(32);
        const aead = crypto.aead(key);
        key.fill(0);
        const out = new Uint8Array(16);
        aead.seal(0, new Uint8Array(0), null, out, 0);
        expect(hex(out)).toBe(hex(seal(sequence(32), new Uint8Array(12), new Uint8Array(0), null)));
      });
    });

    describe('XChaCha20-Poly1305', () => {
      it('matches draft-irtf-cfrg-xchacha-03 Appendix A.3.1', () => {
        expect(hex(crypto.xseal(SUNSCREEN_KEY, XCHACHA_NONCE, SUNSCREEN, SUNSCREEN_AD))).toBe(XCHACHA_SEALED);
        const opened = crypto.xopen(SUNSCREEN_KEY, XCHACHA_NONCE, hexToBytes(XCHACHA_SEALED), SUNSCREEN_AD);
        expect(hex(opened)).toBe(hex(SUNSCREEN));
      });

      it('rejects tampering and short input without throwing', () => {
        const sealed = hexToBytes(XCHACHA_SEALED);
        for (const index of [0, sealed.length - 1]) {
          const tampered = sealed.slice();
          tampered[index]! ^= 0x80;
          expect(crypto.xopen(SUNSCREEN_KEY, XCHACHA_NONCE, tampered, SUNSCREEN_AD)).toBeNull();
        }
        expect(crypto.xopen(SUNSCREEN_KEY, XCHACHA_NONCE, sealed, null)).toBeNull();
        const nonce = XCHACHA_NONCE.slice();
        nonce[20]! ^= 1;
        expect(crypto.xopen(SUNSCREEN_KEY, nonce, sealed, SUNSCREEN_AD)).toBeNull();
        for (let length = 0; length < 16; length++) {
          expect(
            crypto.xopen(SUNSCREEN_KEY, XCHACHA_NONCE, sealed.subarray(0, length), SUNSCREEN_AD),
          ).toBeNull();
        }
      });
    });

    describe('X25519', () => {
      it.each(X25519_VECTORS)('matches RFC 7748 §5.2 for scalar $scalar', ({ scalar, u, out }) => {
        expect(hex(crypto.x25519(hexToBytes(scalar), hexToBytes(u)))).toBe(out);
      });

      it('matches the RFC 7748 §5.2 iterated vectors (1 and 1000 iterations)', () => {
        let k: Uint8Array = hexToBytes('0900000000000000000000000000000000000000000000000000000000000000');
        let u = k;
        for (let i = 1; i <= 1000; i++) {
          const next = crypto.x25519(k, u);
          if (next === null) throw new Error(`iteration ${i} gave the all-zero result`);
          u = k;
          k = next;
          if (i === 1)
            expect(hex(k)).toBe('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
        }
        expect(hex(k)).toBe('684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
      });

      it('reproduces the RFC 7748 §6.1 Diffie-Hellman exchange', () => {
        const alice = hexToBytes(ALICE_PRIVATE);
        const bob = hexToBytes(BOB_PRIVATE);
        expect(hex(crypto.x25519PublicKey(alice))).toBe(ALICE_PUBLIC);
        expect(hex(crypto.x25519PublicKey(bob))).toBe(BOB_PUBLIC);
        expect(hex(crypto.x25519(alice, hexToBytes(BOB_PUBLIC)))).toBe(ALICE_BOB_SHARED);
        expect(hex(crypto.x25519(bob, hexToBytes(ALICE_PUBLIC)))).toBe(ALICE_BOB_SHARED);
      });

      it.each(LOW_ORDER_POINTS)('returns null for the low-order point %s', (point) => {
        expect(crypto.x25519(randomBytes(32), hexToBytes(point))).toBeNull();
        expect(crypto.x25519(hexToBytes(ALICE_PRIVATE), hexToBytes(point))).toBeNull();
      });

      it('follows a private key array that the caller changes in place', () => {
        const key = hexToBytes(ALICE_PRIVATE);
        expect(hex(crypto.x25519PublicKey(key))).toBe(ALICE_PUBLIC);
        key.set(hexToBytes(BOB_PRIVATE));
        expect(hex(crypto.x25519PublicKey(key))).toBe(BOB_PUBLIC);
        expect(hex(crypto.x25519(key, hexToBytes(ALICE_PUBLIC)))).toBe(ALICE_BOB_SHARED);
      });

      it('throws for keys that are not 32 bytes', () => {
        expect(() => crypto.x25519(new Uint8Array(31), hexToBytes(ALICE_PUBLIC))).toThrow(RangeError);
        expect(() => crypto.x25519(hexToBytes(ALICE_PRIVATE), new Uint8Array(33))).toThrow(RangeError);
        expect(() => crypto.x25519PublicKey(new Uint8Array(0))).toThrow(RangeError);
      });
    });

    describe('BLAKE2s', () => {
      it('hashes "abc" as in RFC 7693 Appendix B, in one part or several', () => {
        const expected = '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982';
        expect(hex(crypto.hash(utf8ToBytes('abc')))).toBe(expected);
        expect(hex(crypto.hash(utf8ToBytes('a'), new Uint8Array(0), utf8ToBytes('bc')))).toBe(expected);
      });

      it.each(KEYED_BLAKE2S)('matches the keyed BLAKE2s KAT for a $length-byte input', ({ length, out }) => {
        expect(hex(crypto.keyedHash(sequence(32), sequence(length), 32))).toBe(out);
      });

      it('sets the digest length in the parameter block rather than truncating', () => {
        const mac = crypto.keyedHash(sequence(16), utf8ToBytes('abc'), 16);
        expect(mac).toHaveLength(16);
        expect(hex(mac)).not.toBe(
          hex(crypto.keyedHash(sequence(16), utf8ToBytes('abc'), 32).subarray(0, 16)),
        );
      });
    });

    describe('HMAC-BLAKE2s', () => {
      // Pinned from both providers; the 65-byte key exercises RFC 2104's hashing of a key longer than a block.
      it.each([
        { keyLength: 32, out: '82623be5bc0a391b24dce53e67d028eff92d586de0485ac37822e597d049c74f' },
        { keyLength: 65, out: '44d87b3939dec16bc76cbd83e3982ac0a4eafab8a5b87c8c2adbd0da7d5c9695' },
      ])('matches the pinned value and a hand-built HMAC for a $keyLength-byte key', ({ keyLength, out }) => {
        const key = sequence(keyLength);
        expect(hex(referenceHmac(key, utf8ToBytes('abc')))).toBe(out);
        expect(hex(crypto.hmac(key, utf8ToBytes('abc')))).toBe(out);
        expect(hex(crypto.hmac(key, utf8ToBytes('ab'), utf8ToBytes('c')))).toBe(out);
      });
    });

    describe('KDF (HKDF over HMAC-BLAKE2s)', () => {
      it('holds the three wireguard-go vectors', () => {
        expect(KDF_FIXTURE.source).toContain('wireguard-go');
        expect(KDF_FIXTURE.vectors).toHaveLength(3);
      });

      it.each(KDF_FIXTURE.vectors.map((v, i) => [i, v] as const))(
        'gives KDF1, KDF2 and KDF3 of wireguard-go vector %i',
        (_i, v) => {
          const key = hexToBytes(v.key);
          const input = hexToBytes(v.input);
          expect(crypto.kdf(1, key, input).map(hex)).toEqual([v.t0]);
          expect(crypto.kdf(2, key, input).map(hex)).toEqual([v.t0, v.t1]);
          expect(crypto.kdf(3, key, input).map(hex)).toEqual([v.t0, v.t1, v.t2]);
        },
      );

      it('leaves its inputs untouched and returns independent 32-byte outputs', () => {
        const v = KDF_FIXTURE.vectors[0]!;
        const key = hexToBytes(v.key);
        const input = hexToBytes(v.input);
        const out = crypto.kdf(3, key, input);
        expect(hex(key)).toBe(v.key);
        expect(hex(input)).toBe(v.input);
        for (const t of out) expect(t).toHaveLength(32);
        // Wiping one output (as callers do with spent keys) must not disturb the others.
        out[0]!.fill(0);
        expect(hex(out[1]!)).toBe(v.t1);
        expect(hex(out[2]!)).toBe(v.t2);
      });
    });
  });
}
