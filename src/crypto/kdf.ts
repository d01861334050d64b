import type { CryptoProvider } from './types.js';

const ONE = Uint8Array.of(1);

/**
 * WireGuard's KDF_n from a provider's HMAC-BLAKE2s: HKDF (RFC 5869) with empty info, which
 * extracts τ0 = HMAC(key, input), then expands τi = HMAC(τ0, τ(i-1) || i).
 */
export function kdfFromHmac(hmac: CryptoProvider['hmac']): CryptoProvider['kdf'] {
  return (n, key, input) => {
    const prk = hmac(key, input);
    const out: Uint8Array[] = [];
    let prev = hmac(prk, ONE);
    out.push(prev);
    for (let i = 2; i <= n; i++) {
      prev = hmac(prk, prev, Uint8Array.of(i));
      out.push(prev);
    }
    prk.fill(0);
    return out;
  };
}
