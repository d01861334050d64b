import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { nobleCrypto } from './noble.js';
import { nodeCrypto } from './node.js';
import type { CryptoProvider } from './types.js';

export type { Aead, CryptoProvider } from './types.js';
export { nobleCrypto, nodeCrypto };

// getRandomValues fills at most this many bytes per call.
const RANDOM_CHUNK = 65536;
// Small requests (indices, ephemeral keys, jitter) are served from a pool: each getRandomValues call
// costs microseconds of fixed overhead, a handshake makes several, and the bytes are the same CSPRNG's.
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolUsed = POOL_SIZE;

/** `n` cryptographically random bytes, from Web Crypto (present in Node and in browsers). */
export function randomBytes(n: number): Uint8Array {
  if (n <= 64) {
    if (poolUsed + n > POOL_SIZE) {
      globalThis.crypto.getRandomValues(pool);
      poolUsed = 0;
    }
    const out = pool.slice(poolUsed, poolUsed + n);
    // Served bytes are erased from the pool so that they exist only in the caller's copy.
    pool.fill(0, poolUsed, poolUsed + n);
    poolUsed += n;
    return out;
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += RANDOM_CHUNK) {
    globalThis.crypto.getRandomValues(out.subarray(i, i + RANDOM_CHUNK));
  }
  return out;
}

/**
 * Whether `provider` gives the right answers on one small known vector per primitive. The point is
 * node:crypto's backend: Electron's BoringSSL may lack chacha20-poly1305 or blake2s256 (the calls
 * then throw, which counts as failing), and a different library may report a low-order X25519 result
 * in a way `nodeCrypto` does not recognise as such.
 */
export function selfTest(provider: CryptoProvider): boolean {
  try {
    // RFC 7748 §5.2, first vector.
    const scalar = hexToBytes('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4');
    const u = hexToBytes('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c');
    const shared = provider.x25519(scalar, u);
    const x25519Works =
      shared !== null &&
      bytesToHex(shared) === 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552' &&
      provider.x25519(scalar, new Uint8Array(32)) === null;

    // RFC 7693 Appendix B.
    const blake2sWorks =
      bytesToHex(provider.hash(utf8ToBytes('abc'))) ===
      '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982';

    // Computed with @noble/ciphers, which vectors.test.ts checks against RFC 8439. The counter
    // needs both 32-bit halves of the nonce.
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const counter = 2 ** 32 + 1;
    const plaintext = utf8ToBytes('burrow');
    const sealed = new Uint8Array(plaintext.length + 16);
    const aead = provider.aead(key);
    aead.seal(counter, plaintext, null, sealed, 0);
    const opened = aead.open(counter, sealed, null);
    const aeadWorks =
      bytesToHex(sealed) === '3d15505b142ec9d1f11ffc4f77cf474cea1d8e725c4d' &&
      opened !== null &&
      bytesToHex(opened) === bytesToHex(plaintext);

    return x25519Works && blake2sWorks && aeadWorks;
  } catch {
    return false;
  }
}

let nodeCryptoWorks: boolean | undefined;

/**
 * The provider to use: `nodeCrypto` (OpenSSL, much faster) when node:crypto passes `selfTest`
 * (checked once), otherwise `nobleCrypto`. Setting BURROW_CRYPTO=noble forces `nobleCrypto`.
 */
export function selectCrypto(): CryptoProvider {
  // globalThis.process, not process: outside Node there is no such global to name.
  if (globalThis.process?.env?.BURROW_CRYPTO === 'noble') return nobleCrypto;
  nodeCryptoWorks ??= selfTest(nodeCrypto);
  return nodeCryptoWorks ? nodeCrypto : nobleCrypto;
}
