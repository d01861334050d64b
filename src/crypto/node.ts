import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { blake2s, blake2sKeyed, hmacBlake2s } from './blake2s.js';
import { isCounter, requireLength, writeCounter } from './checks.js';
import { kdfFromHmac } from './kdf.js';
import type { Aead, CryptoProvider } from './types.js';

const KEY_LENGTH = 32;
const TAG_LENGTH = 16;
const XNONCE_LENGTH = 24;
const CIPHER = 'chacha20-poly1305';
const CIPHER_OPTIONS = { authTagLength: TAG_LENGTH } as const;

// OpenSSL refuses to return X25519's all-zero output (the result for a low-order public key) and
// reports it under this code; it is the only failure the interface turns into null.
const LOW_ORDER_CODE = 'ERR_OSSL_FAILED_DURING_DERIVATION';

// HChaCha20's first row, "expand 32-byte k", as the native-endian words @noble's hchacha expects.
const SIGMA = new Uint32Array(new TextEncoder().encode('expand 32-byte k').buffer);

/** The same bytes as a plain Uint8Array, so callers get the standard (copying) `slice`, not Buffer's. */
function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

// Keys are imported as JWK because PKCS#8/SPKI DER goes through OpenSSL 3's generic decoder and is
// about 10x slower (a DER private-key import costs more than ten X25519 operations). Node builds an
// OKP private key from `d` alone; it requires `x` to be a string but does not read it.
function importPrivateKey(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: base64url(raw), x: '' }, format: 'jwk' });
}

function importPublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: base64url(raw) }, format: 'jwk' });
}

/**
 * Remembers the KeyObject made from a key array, so that a key used again (the static private key,
 * a peer's public key, an ephemeral key used for two DHs) is imported once: importing a private key
 * costs as much as the DH itself. Entries are keyed by the caller's array and live as long as it.
 * Each keeps a BLAKE2s digest of the bytes it was made from, not a copy, so that no second copy of a
 * private key outlives the caller wiping its own; the digest notices a wiped or reused array.
 */
function keyObjectCache(importKey: (raw: Uint8Array) => KeyObject): (raw: Uint8Array) => KeyObject {
  const entries = new WeakMap<Uint8Array, { digest: Uint8Array; key: KeyObject }>();
  return (raw) => {
    const digest = blake2s(raw);
    const entry = entries.get(raw);
    if (entry !== undefined && timingSafeEqual(entry.digest, digest)) return entry.key;
    const key = importKey(raw);
    entries.set(raw, { digest, key });
    return key;
  };
}

const privateKeyObject = keyObjectCache(importPrivateKey);
const publicKeyObject = keyObjectCache(importPublicKey);

function sealInto(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array | null,
  out: Uint8Array,
  outOffset: number,
): number {
  const length = plaintext.length + TAG_LENGTH;
  if (outOffset < 0 || outOffset + length > out.length) {
    throw new RangeError(`out has no room for ${length} bytes at offset ${outOffset}`);
  }
  const cipher = createCipheriv(CIPHER, key, nonce, CIPHER_OPTIONS);
  if (ad !== null && ad.length > 0) cipher.setAAD(ad, { plaintextLength: plaintext.length });
  out.set(cipher.update(plaintext), outOffset);
  cipher.final();
  out.set(cipher.getAuthTag(), outOffset + plaintext.length);
  return length;
}

/** RFC 8439 ChaCha20-Poly1305 with an arbitrary 12-byte nonce: ciphertext || tag. Exposed for the
 * RFC's own vectors, whose nonces are not of the WireGuard form the `Aead` interface builds. */
export function chacha20Poly1305Seal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array | null,
): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_LENGTH);
  sealInto(key, nonce, plaintext, ad, out, 0);
  return out;
}

/** Opens what {@link chacha20Poly1305Seal} produced; null if the tag does not verify. */
export function chacha20Poly1305Open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array | null,
): Uint8Array | null {
  const length = sealed.length - TAG_LENGTH;
  if (length < 0) return null;
  const decipher = createDecipheriv(CIPHER, key, nonce, CIPHER_OPTIONS);
  decipher.setAuthTag(sealed.subarray(length));
  if (ad !== null && ad.length > 0) decipher.setAAD(ad, { plaintextLength: length });
  // OpenSSL decrypts before it checks the tag: wipe the output rather than leave forged plaintext around.
  const plaintext = decipher.update(sealed.subarray(0, length));
  try {
    decipher.final();
  } catch {
    plaintext.fill(0);
    return null;
  }
  return plain(plaintext);
}

function aead(key: Uint8Array): Aead {
  requireLength(key, KEY_LENGTH, 'ChaCha20-Poly1305 key');
  // Our own copy, so that a caller wiping or reusing its array cannot change this instance's key.
  // (A KeyObject from createSecretKey measured no faster.)
  const ownKey = key.slice();
  // createCipheriv copies the nonce, so one buffer per instance serves every packet.
  const nonce = new Uint8Array(12);
  const nonceView = new DataView(nonce.buffer);
  return {
    seal(counter, plaintext, ad, out, outOffset) {
      if (!isCounter(counter))
        throw new RangeError(`counter must be a non-negative safe integer, got ${counter}`);
      writeCounter(nonceView, counter);
      return sealInto(ownKey, nonce, plaintext, ad, out, outOffset);
    },
    open(counter, sealed, ad) {
      if (!isCounter(counter)) return null;
      writeCounter(nonceView, counter);
      return chacha20Poly1305Open(ownKey, nonce, sealed, ad);
    },
    wipe() {
      ownKey.fill(0);
    },
  };
}

/**
 * XChaCha20-Poly1305 as draft-irtf-cfrg-xchacha-03 builds it: HChaCha20 (which node:crypto lacks)
 * derives a subkey from the key and nonce[0..16]; ChaCha20-Poly1305 then runs under that subkey with
 * nonce 0000 || nonce[16..24].
 */
function xchachaParameters(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; nonce: Uint8Array } {
  requireLength(key, KEY_LENGTH, 'XChaCha20-Poly1305 key');
  requireLength(nonce, XNONCE_LENGTH, 'XChaCha20-Poly1305 nonce');
  const keyWords = new Uint32Array(8);
  new Uint8Array(keyWords.buffer).set(key);
  const nonceWords = new Uint32Array(4);
  new Uint8Array(nonceWords.buffer).set(nonce.subarray(0, 16));
  const subkeyWords = new Uint32Array(8);
  hchacha(SIGMA, keyWords, nonceWords, subkeyWords);
  keyWords.fill(0);
  const chachaNonce = new Uint8Array(12);
  chachaNonce.set(nonce.subarray(16), 4);
  return { subkey: new Uint8Array(subkeyWords.buffer), nonce: chachaNonce };
}

/** OpenSSL (through node:crypto) for X25519 and the AEADs; BLAKE2s in tuned JavaScript; HChaCha20 from @noble. */
export const nodeCrypto: CryptoProvider = {
  name: 'node',

  x25519(privateKey, publicKey) {
    requireLength(privateKey, KEY_LENGTH, 'X25519 private key');
    requireLength(publicKey, KEY_LENGTH, 'X25519 public key');
    const keys = { privateKey: privateKeyObject(privateKey), publicKey: publicKeyObject(publicKey) };
    try {
      return plain(diffieHellman(keys));
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === LOW_ORDER_CODE) return null;
      throw error;
    }
  },

  x25519PublicKey(privateKey) {
    requireLength(privateKey, KEY_LENGTH, 'X25519 private key');
    // JWK export, like JWK import, is far cheaper than the SPKI DER encoder.
    const { x } = createPublicKey(privateKeyObject(privateKey)).export({ format: 'jwk' });
    // A copy: small decoded Buffers share Node's pool, which must not leak out as `.buffer`.
    return new Uint8Array(Buffer.from(x!, 'base64url'));
  },

  // BLAKE2s comes from blake2s.ts, not OpenSSL: for the handshake's short inputs createHash and
  // createHmac spend more on set-up than on hashing (measured 2.5x slower for a 64-byte hash, 1.5x
  // for an HMAC), and node:crypto has no keyed BLAKE2s at all.
  hash: blake2s,
  keyedHash: blake2sKeyed,
  hmac: hmacBlake2s,
  kdf: kdfFromHmac(hmacBlake2s),

  aead,

  xseal(key, nonce, plaintext, ad) {
    const x = xchachaParameters(key, nonce);
    try {
      return chacha20Poly1305Seal(x.subkey, x.nonce, plaintext, ad);
    } finally {
      x.subkey.fill(0);
    }
  },

  xopen(key, nonce, sealed, ad) {
    const x = xchachaParameters(key, nonce);
    try {
      return chacha20Poly1305Open(x.subkey, x.nonce, sealed, ad);
    } finally {
      x.subkey.fill(0);
    }
  },
};
