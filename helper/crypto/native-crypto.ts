import { nodeCrypto, selectCrypto, selfTest } from '../../src/crypto/index.js';
import type { Aead, CryptoProvider } from '../../src/crypto/types.js';
import { native } from '../native/index.js';

/**
 * The node provider with ChaCha20-Poly1305 done by the addon (helper/native/aead.c), which calls
 * OpenSSL's EVP interface with one context per session key. node:crypto pays ~6 us of set-up per
 * packet; this path costs one N-API call. Everything else (X25519, BLAKE2s) is the node provider's.
 */
export function nativeCrypto(): CryptoProvider {
  const addon = native();
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
