import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { isCounter, requireLength, writeCounter } from './checks.js';
import { kdfFromHmac } from './kdf.js';
import type { Aead, CryptoProvider } from './types.js';

const KEY_LENGTH = 32;
const TAG_LENGTH = 16;
const XNONCE_LENGTH = 24;

// @noble/curves rejects low-order public keys before running the ladder (so it never reaches the
// all-zero result) and throws this; it is the only case the interface turns into null.
const LOW_ORDER_MESSAGE = 'invalid private or public key received';

/** RFC 8439 ChaCha20-Poly1305 with an arbitrary 12-byte nonce: ciphertext || tag. Exposed for the
 * RFC's own vectors, whose nonces are not of the WireGuard form the `Aead` interface builds. */
export function chacha20Poly1305Seal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array | null,
): Uint8Array {
  return chacha20poly1305(key, nonce, ad ?? undefined).encrypt(plaintext);
}

/** Opens what {@link chacha20Poly1305Seal} produced; null if the tag does not verify. */
export function chacha20Poly1305Open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array | null,
): Uint8Array | null {
  if (sealed.length < TAG_LENGTH) return null;
  try {
    return chacha20poly1305(key, nonce, ad ?? undefined).decrypt(sealed);
  } catch {
    return null;
  }
}

function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const state = hmac.create(blake2s, key);
  for (const part of parts) state.update(part);
  return state.digest();
}

function aead(key: Uint8Array): Aead {
  requireLength(key, KEY_LENGTH, 'ChaCha20-Poly1305 key');
  // Our own copy, so that a caller wiping or reusing its array cannot change this instance's key.
  const ownKey = key.slice();
  // noble reads the nonce only during the call, so one buffer per instance serves every packet.
  const nonce = new Uint8Array(12);
  const nonceView = new DataView(nonce.buffer);
  return {
    seal(counter, plaintext, ad, out, outOffset) {
      if (!isCounter(counter))
        throw new RangeError(`counter must be a non-negative safe integer, got ${counter}`);
      const length = plaintext.length + TAG_LENGTH;
      if (outOffset < 0 || outOffset + length > out.length) {
        throw new RangeError(`out has no room for ${length} bytes at offset ${outOffset}`);
      }
      writeCounter(nonceView, counter);
      chacha20poly1305(ownKey, nonce, ad ?? undefined).encrypt(
        plaintext,
        out.subarray(outOffset, outOffset + length),
      );
      return length;
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

/** The pure-JavaScript reference: slower than OpenSSL, but available everywhere. */
export const nobleCrypto: CryptoProvider = {
  name: 'noble',

  x25519(privateKey, publicKey) {
    requireLength(privateKey, KEY_LENGTH, 'X25519 private key');
    requireLength(publicKey, KEY_LENGTH, 'X25519 public key');
    try {
      return x25519.getSharedSecret(privateKey, publicKey);
    } catch (error) {
      if (error instanceof Error && error.message === LOW_ORDER_MESSAGE) return null;
      throw error;
    }
  },

  x25519PublicKey(privateKey) {
    requireLength(privateKey, KEY_LENGTH, 'X25519 private key');
    return x25519.getPublicKey(privateKey);
  },

  hash(...parts) {
    const state = blake2s.create();
    for (const part of parts) state.update(part);
    return state.digest();
  },

  keyedHash(key, data, outLen) {
    return blake2s(data, { key, dkLen: outLen });
  },

  hmac: hmacBlake2s,
  kdf: kdfFromHmac(hmacBlake2s),

  aead,

  xseal(key, nonce, plaintext, ad) {
    requireLength(key, KEY_LENGTH, 'XChaCha20-Poly1305 key');
    requireLength(nonce, XNONCE_LENGTH, 'XChaCha20-Poly1305 nonce');
    return xchacha20poly1305(key, nonce, ad ?? undefined).encrypt(plaintext);
  },

  xopen(key, nonce, sealed, ad) {
    requireLength(key, KEY_LENGTH, 'XChaCha20-Poly1305 key');
    requireLength(nonce, XNONCE_LENGTH, 'XChaCha20-Poly1305 nonce');
    if (sealed.length < TAG_LENGTH) return null;
    try {
      return xchacha20poly1305(key, nonce, ad ?? undefined).decrypt(sealed);
    } catch {
      return null;
    }
  },
};
