import type { CryptoProvider } from '../crypto/types.js';

export const KEY_LENGTH = 32;

/** Clamps an X25519 scalar in place, exactly as `wg genkey` does. */
export function clampPrivateKey(key: Uint8Array): Uint8Array {
  key[0]! &= 248;
  key[31]! &= 127;
  key[31]! |= 64;
  return key;
}

/** A new clamped private key from the given source of randomness. */
export function generatePrivateKey(random: (n: number) => Uint8Array): Uint8Array {
  return clampPrivateKey(random(KEY_LENGTH));
}

export function publicKeyOf(crypto: CryptoProvider, privateKey: Uint8Array): Uint8Array {
  return crypto.x25519PublicKey(privateKey);
}

/** Standard base64 of a 32-byte key, as `wg` prints it (44 characters, one '=' of padding). */
export function encodeKey(key: Uint8Array): string {
  if (key.length !== KEY_LENGTH) throw new Error(`key must be ${KEY_LENGTH} bytes, got ${key.length}`);
  let binary = '';
  for (const b of key) binary += String.fromCharCode(b);
  return btoa(binary);
}

const KEY_BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * Decodes a key as `wg` accepts it: exactly 44 characters of standard base64 encoding 32 bytes.
 * Throws an Error naming what is wrong; `what` names the field in the message (e.g. "PublicKey").
 */
export function decodeKey(text: string, what = 'key'): Uint8Array {
  if (typeof text !== 'string') throw new Error(`${what}: expected a base64 string`);
  if (text.length !== 44) throw new Error(`${what}: expected 44 base64 characters, got ${text.length}`);
  if (!KEY_BASE64.test(text)) throw new Error(`${what}: not a valid base64-encoded 32-byte key`);
  const binary = atob(text);
  const out = new Uint8Array(KEY_LENGTH);
  for (let i = 0; i < KEY_LENGTH; i++) out[i] = binary.charCodeAt(i);
  return out;
}
