import { existsSync } from 'node:fs';
import { nodeCrypto, selectCrypto, selfTest } from '../../src/crypto/index.js';
import type { Aead, CryptoProvider } from '../../src/crypto/types.js';
import { requireAddon } from '../../src/packaged.js';
import { addonPath, missingAddon, type NativeHandle } from '../native/index.js';

/** The burrow_crypto addon (helper/crypto/native/aead.c). */
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
}

let loaded: CryptoAddon | undefined;

function cryptoAddon(): CryptoAddon {
  if (loaded) return loaded;
  const path = addonPath('burrow_crypto');
  if (!existsSync(path)) throw missingAddon('burrow_crypto', path);
  loaded = requireAddon(path) as CryptoAddon;
  return loaded;
}

/**
 * The node provider with ChaCha20-Poly1305 done by the addon (helper/crypto/native/aead.c), which calls
 * OpenSSL's EVP interface with one context per session key. node:crypto pays ~6 us of set-up per
 * packet; this path costs one N-API call. Everything else (X25519, BLAKE2s) is the node provider's.
 */
export function nativeCrypto(): CryptoProvider {
  const addon = cryptoAddon();
  return {
    ...nodeCrypto,
    name: 'native',
    aead(key: Uint8Array): Aead {
      const handle = addon.aeadCreate(key);
      return {
        seal: (counter, plaintext, ad, out, outOffset) =>
          addon.aeadSeal(handle, counter, plaintext, ad, out, outOffset),
        open: (counter, sealed, ad) => addon.aeadOpen(handle, counter, sealed, ad),
        wipe: () => addon.aeadWipe(handle),
      };
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
    onFallback?.('the native AEAD failed its self-test');
  } catch (error) {
    onFallback?.((error as Error).message);
  }
  return selectCrypto();
}
