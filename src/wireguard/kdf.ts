import type { CryptoProvider } from '../crypto/types.js';

const ONE = Uint8Array.of(1);

/**
 * WireGuard's HKDF over HMAC-BLAKE2s (the whitepaper's KDF1/KDF2/KDF3): extracts
 * τ0 = HMAC(key, input), then expands τi = HMAC(τ0, τ(i-1) || i). Returns `n` 32-byte outputs.
 */
export function kdf(crypto: CryptoProvider, n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] {
  const prk = crypto.hmac(key, input);
  const out: Uint8Array[] = [];
  let prev = crypto.hmac(prk, ONE);
  out.push(prev);
  for (let i = 2; i <= n; i++) {
    prev = crypto.hmac(prk, prev, Uint8Array.of(i));
    out.push(prev);
  }
  prk.fill(0);
  return out;
}
