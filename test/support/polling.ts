import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { clampPrivateKey } from '../../src/wireguard/keys.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';

/** Test support for in-process protocol tests: waiting on state that sockets update, and keys. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns something truthy. It reads state; a probe that reads the store
 * returns a promise, which is awaited (a promise itself is never the answer).
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const crypto = selectCrypto();

/** A fresh X25519 key pair (a machine, node or server key). */
export function keyPair(): StaticKeyPair {
  const privateKey = clampPrivateKey(randomBytes(32));
  return { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
}
