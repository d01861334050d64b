/**
 * The primitives WireGuard needs, behind one interface so that the OpenSSL-backed
 * implementation (node:crypto) and the pure-JS reference (@noble) are interchangeable
 * and can be tested against the same vectors.
 *
 * Every function is synchronous and allocation-light: the transport path calls
 * `Aead.seal`/`Aead.open` once per packet.
 */

/** ChaCha20-Poly1305 (RFC 8439) bound to one 32-byte key. The 96-bit nonce is
 * 4 zero bytes followed by `counter` as a 64-bit little-endian integer, as in WireGuard and Noise. */
export interface Aead {
  /**
   * Encrypts `plaintext` and writes ciphertext || 16-byte tag into `out` starting at `outOffset`.
   * Returns the number of bytes written (plaintext.length + 16).
   * `counter` is a non-negative safe integer.
   */
  seal(
    counter: number,
    plaintext: Uint8Array,
    ad: Uint8Array | null,
    out: Uint8Array,
    outOffset: number,
  ): number;
  /** Decrypts ciphertext || tag. Returns the plaintext, or null if the tag does not verify
   * (or `sealed` is shorter than a tag). Never throws on bad input. */
  open(counter: number, sealed: Uint8Array, ad: Uint8Array | null): Uint8Array | null;
  /** Zeroes this instance's copy of the key. The instance must not be used afterwards. */
  wipe(): void;
}

export interface CryptoProvider {
  /** 'node' (OpenSSL through node:crypto), 'noble' (pure JavaScript reference), or 'native' (the
   * helper's addon: OpenSSL's EVP directly for X25519 and the AEAD, BLAKE2s in C; helper/crypto). */
  readonly name: 'node' | 'noble' | 'native';

  /** X25519 scalar multiplication (RFC 7748). Returns null when the result is all zeros
   * (a low-order public key), which WireGuard must reject. Never throws for 32-byte inputs. */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null;
  /** The X25519 public key of a 32-byte private key (clamping is applied by X25519 itself). */
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;

  /** Unkeyed BLAKE2s-256 of the concatenation of `parts`. */
  hash(...parts: Uint8Array[]): Uint8Array;
  /** Keyed BLAKE2s (RFC 7693) of `data` with a 1..32-byte key and an `outLen`-byte digest (1..32).
   * WireGuard's MAC is outLen 16. */
  keyedHash(key: Uint8Array, data: Uint8Array, outLen: number): Uint8Array;
  /** HMAC (RFC 2104) over BLAKE2s-256 of the concatenation of `parts`. */
  hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /**
   * WireGuard's KDF_n (the whitepaper's KDF1/KDF2/KDF3): HKDF (RFC 5869) over HMAC-BLAKE2s with
   * empty info, giving `n` independent 32-byte outputs of the chaining key `key` and `input`.
   */
  kdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[];

  /** A ChaCha20-Poly1305 instance bound to a 32-byte key. */
  aead(key: Uint8Array): Aead;

  /** XChaCha20-Poly1305 with a 24-byte nonce: returns ciphertext || tag. */
  xseal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array | null): Uint8Array;
  /** XChaCha20-Poly1305 open; null if the tag does not verify. Never throws on bad input. */
  xopen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array | null): Uint8Array | null;
}
