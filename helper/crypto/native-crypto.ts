import { existsSync } from 'node:fs';
import { requireLength } from '../../src/crypto/checks.js';
import { nodeCrypto, selectCrypto, selfTest } from '../../src/crypto/index.js';
import type { Aead, CryptoProvider } from '../../src/crypto/types.js';
import { requireAddon } from '../../src/packaged.js';
import { addonPath, missingAddon, type NativeHandle } from '../native/index.js';

/** The burrow_crypto addon (helper/crypto/native: aead.c, x25519.c, blake2s.c). */
interface CryptoAddon {
  aeadCreate(key: Uint8Array): NativeHandle;
  aeadSeal(
    handle: NativeHandle,
    counter: number,
    plaintext: Uint8Array,
    ad: Uint8Array | null,
    out: Uint8Array,
    outOffset: number,
  ): number;
  aeadOpen(
    handle: NativeHandle,
    counter: number,
    sealed: Uint8Array,
    ad: Uint8Array | null,
  ): Uint8Array | null;
  aeadWipe(handle: NativeHandle): void;
  aeadSealOnce(
    key: Uint8Array,
    counter: number,
    plaintext: Uint8Array,
    ad: Uint8Array | null,
    out: Uint8Array,
    outOffset: number,
  ): number;
  aeadOpenOnce(
    key: Uint8Array,
    counter: number,
    sealed: Uint8Array,
    ad: Uint8Array | null,
  ): Uint8Array | null;
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null;
  blake2sHash(...parts: Uint8Array[]): Uint8Array;
  blake2sKeyed(key: Uint8Array, data: Uint8Array, outLen: number): Uint8Array;
  hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  hkdfBlake2s(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[];
}

let loaded: CryptoAddon | undefined;

function cryptoAddon(): CryptoAddon {
  if (loaded) return loaded;
  const path = addonPath('burrow_crypto');
  if (!existsSync(path)) throw missingAddon('burrow_crypto', path);
  const addon = requireAddon(path) as CryptoAddon;
  // A build from before the handshake primitives moved into the addon: say so rather than fail later.
  if (typeof addon.hkdfBlake2s !== 'function') {
    throw new Error(`${path} is out of date (no native X25519): rebuild it with ./scripts/setup`);
  }
  loaded = addon;
  return loaded;
}

/**
 * The node provider with the handshake's and the datapath's primitives done by the addon, which
 * calls OpenSSL (helper/crypto/native):
 * - ChaCha20-Poly1305 through EVP with one context per session key: node:crypto pays ~6 us of set-up
 *   per packet, this path one N-API call;
 * - X25519 through EVP on raw keys: node:crypto needs a KeyObject per key, whose import costs as
 *   much as the DH (the addon keeps the last few private keys imported instead);
 * - BLAKE2s, its keyed MAC, HMAC and WireGuard's KDF (HKDF over it) in C, one call each.
 * XChaCha20-Poly1305 (disco and relay seals) stays the node provider's.
 */
export function nativeCrypto(): CryptoProvider {
  const addon = cryptoAddon();
  return {
    ...nodeCrypto,
    name: 'native',
    x25519: addon.x25519,
    x25519PublicKey: addon.x25519PublicKey,
    hash: addon.blake2sHash,
    keyedHash: addon.blake2sKeyed,
    hmac: addon.hmacBlake2s,
    kdf: addon.hkdfBlake2s,
    aead: (key) => lazyAead(addon, key),
  };
}

/**
 * An Aead whose first message is sealed or opened one-shot with the key, and which makes its EVP
 * context only when a second message comes: each handshake message has a key of its own, and a
 * session may never send (or receive), while a context handle costs several microseconds to make.
 */
function lazyAead(addon: CryptoAddon, key: Uint8Array): Aead {
  requireLength(key, 32, 'ChaCha20-Poly1305 key');
  // Our own copy (a caller may wipe or reuse its array), until the context replaces it.
  let ownKey: Uint8Array | null = key.slice();
  let handle: NativeHandle | null = null;
  let first = true;
  /** The context for this message, or null for the first message, which goes one-shot. */
  const context = (): NativeHandle | null => {
    if (handle !== null) return handle;
    if (ownKey === null) throw new Error('not a live AEAD handle (wiped)');
    if (first) {
      first = false;
      return null;
    }
    handle = addon.aeadCreate(ownKey);
    ownKey.fill(0);
    ownKey = null;
    return handle;
  };
  return {
    seal(counter, plaintext, ad, out, outOffset) {
      const live = context();
      return live === null
        ? addon.aeadSealOnce(ownKey!, counter, plaintext, ad, out, outOffset)
        : addon.aeadSeal(live, counter, plaintext, ad, out, outOffset);
    },
    open(counter, sealed, ad) {
      const live = context();
      return live === null
        ? addon.aeadOpenOnce(ownKey!, counter, sealed, ad)
        : addon.aeadOpen(live, counter, sealed, ad);
    },
    wipe() {
      ownKey?.fill(0);
      ownKey = null;
      if (handle !== null) addon.aeadWipe(handle);
    },
  };
}

/**
 * burrowd's crypto: the native provider when the addon loads and passes the same known-answer
 * probe as the others, otherwise whatever selectCrypto() picks. BURROW_CRYPTO=node or =noble
 * forces those.
 */
export function helperCrypto(onFallback?: (why: string) => void): CryptoProvider {
  const forced = process.env.BURROW_CRYPTO;
  if (forced === 'node' || forced === 'noble') return forced === 'node' ? nodeCrypto : selectCrypto();
  try {
    const provider = nativeCrypto();
    if (selfTest(provider)) return provider;
    onFallback?.('the native crypto failed its self-test');
  } catch (error) {
    onFallback?.((error as Error).message);
  }
  return selectCrypto();
}
