/**
 * A handshake flood, run as its own process inside a namespace:
 *   node --import tsx test/support/handshake-flood.ts HOST PORT PUBKEY_BASE64 SECONDS
 * It sends initiations with a valid mac1 from throwaway static keys (so every one costs the target a
 * DH unless it is under load and answers with a cookie reply), as fast as it can, and prints
 * {"sent": N, "cookieReplies": M} at the end.
 */
import dgram from 'node:dgram';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { DEFAULT_LIMITS } from '../../src/wireguard/constants.js';
import { CookieGenerator } from '../../src/wireguard/cookie.js';
import { createInitiation, wireguardStart } from '../../src/wireguard/handshake.js';
import { decodeKey, generatePrivateKey } from '../../src/wireguard/keys.js';
import { Initiation } from '../../src/wireguard/messages.js';

const [host, portText, keyText, secondsText] = process.argv.slice(2);
const crypto = selectCrypto();
const target = decodeKey(keyText!);
const start = wireguardStart(crypto);
const macs = new CookieGenerator(crypto, target, DEFAULT_LIMITS.cookieRefreshTime);
const socket = dgram.createSocket(host!.includes(':') ? 'udp6' : 'udp4');
let cookieReplies = 0;
socket.on('message', (msg) => {
  if (msg[0] === 3) cookieReplies++;
});
await new Promise<void>((resolve) => socket.bind(0, resolve));

// A small pool of pre-built initiations keeps the sender fast; senders rotate through them.
const pool: Uint8Array[] = [];
for (let i = 0; i < 64; i++) {
  const key = generatePrivateKey(randomBytes);
  const local = { privateKey: key, publicKey: crypto.x25519PublicKey(key) };
  const e = generatePrivateKey(randomBytes);
  const ephemeral = { privateKey: e, publicKey: crypto.x25519PublicKey(e) };
  const ss = crypto.x25519(key, target)!;
  const made = createInitiation(crypto, start, local, ephemeral, target, ss, i, Date.now())!;
  macs.addMacs(made.message, Initiation.mac1, 0);
  pool.push(made.message);
}

const deadline = Date.now() + Number(secondsText) * 1000;
let sent = 0;
while (Date.now() < deadline) {
  for (let i = 0; i < 200; i++) socket.send(pool[sent++ % pool.length]!, Number(portText), host);
  await new Promise((r) => setImmediate(r));
}
await new Promise((r) => setTimeout(r, 300));
console.log(JSON.stringify({ sent, cookieReplies }));
socket.close();
