import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import type { CryptoProvider } from '../src/crypto/types.js';
import { clampPrivateKey, decodeKey, encodeKey } from '../src/wireguard/keys.js';
import type { StaticKeyPair } from '../src/wireguard/noise.js';

/**
 * The server's static key for the control protocol: devices pin its public half. Kept in a file of
 * its own (base64, like `wg genkey`), mode 0600, created once; a file that is not a key, or that
 * others can read, is refused rather than silently replaced, because replacing it would cut every
 * device off.
 */
export function loadOrCreateServerKey(crypto: CryptoProvider, path: string): StaticKeyPair {
  if (!existsSync(path)) {
    const privateKey = clampPrivateKey(new Uint8Array(randomBytes(32)));
    const tmp = `${path}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${encodeKey(privateKey)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    throw new Error(`${path}: server key is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  }
  const privateKey = decodeKey(readFileSync(path, 'utf8').trim(), `${path}: server key`);
  chmodSync(path, 0o600);
  return { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
}
