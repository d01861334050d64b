import type { CryptoProvider } from '../crypto/types.js';
import { COOKIE_REPLY_SIZE, LABEL_COOKIE, LABEL_MAC1, MESSAGE_COOKIE_REPLY } from './constants.js';
import { CookieReply, writeType, writeU32 } from './messages.js';

const encoder = new TextEncoder();
const MAC_SIZE = 16;

/** Constant-time comparison of `a` with `len` bytes of `b` at `offset`. */
function equalAt(a: Uint8Array, b: Uint8Array, offset: number): boolean {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[offset + i]!;
  return diff === 0;
}

function labelKey(crypto: CryptoProvider, label: string, publicKey: Uint8Array): Uint8Array {
  return crypto.hash(encoder.encode(label), publicKey);
}

/**
 * The receiving side of WireGuard's DoS protection (whitepaper §5.4.7): checks mac1 (proof that the
 * sender knows our public key) and mac2 (proof that the sender can receive at its source address),
 * and issues cookie replies. The cookie secret rotates every cookieRefreshTime.
 */
export class CookieChecker {
  private mac1Key: Uint8Array;
  private encryptionKey: Uint8Array;
  private secret: Uint8Array | null = null;
  private secretSetAt = 0;

  constructor(
    private readonly crypto: CryptoProvider,
    localPublicKey: Uint8Array,
    private readonly random: (n: number) => Uint8Array,
    private readonly refreshTime: number,
  ) {
    this.mac1Key = labelKey(crypto, LABEL_MAC1, localPublicKey);
    this.encryptionKey = labelKey(crypto, LABEL_COOKIE, localPublicKey);
  }

  /** mac1 must be MAC(HASH(LABEL_MAC1 || our public key), message up to mac1). */
  checkMac1(message: Uint8Array, mac1Offset: number): boolean {
    const mac = this.crypto.keyedHash(this.mac1Key, message.subarray(0, mac1Offset), MAC_SIZE);
    return equalAt(mac, message, mac1Offset);
  }

  /** mac2 must be MAC(cookie for this source, message up to mac2), with a cookie from a live secret. */
  checkMac2(message: Uint8Array, mac2Offset: number, source: Uint8Array, now: number): boolean {
    if (this.secret === null || now - this.secretSetAt > this.refreshTime) return false;
    const cookie = this.crypto.keyedHash(this.secret, source, MAC_SIZE);
    const mac = this.crypto.keyedHash(cookie, message.subarray(0, mac2Offset), MAC_SIZE);
    return equalAt(mac, message, mac2Offset);
  }

  /** A cookie reply to `message` (whose mac1 already checked) for the sender at `source`. */
  createReply(
    message: Uint8Array,
    mac1Offset: number,
    receiverIndex: number,
    source: Uint8Array,
    now: number,
  ): Uint8Array {
    if (this.secret === null || now - this.secretSetAt > this.refreshTime) {
      this.secret = this.random(32);
      this.secretSetAt = now;
    }
    const cookie = this.crypto.keyedHash(this.secret, source, MAC_SIZE);
    const reply = new Uint8Array(COOKIE_REPLY_SIZE);
    writeType(reply, MESSAGE_COOKIE_REPLY);
    writeU32(reply, CookieReply.receiver, receiverIndex);
    const nonce = this.random(24);
    reply.set(nonce, CookieReply.nonce);
    const mac1 = message.subarray(mac1Offset, mac1Offset + MAC_SIZE);
    reply.set(this.crypto.xseal(this.encryptionKey, nonce, cookie, mac1), CookieReply.cookie);
    return reply;
  }
}

/**
 * The sending side, one per peer: adds mac1 and (while a fresh cookie is held) mac2 to outgoing
 * handshake messages, and takes in cookie replies that answer the last mac1 we sent.
 */
export class CookieGenerator {
  private readonly mac1Key: Uint8Array;
  private readonly decryptionKey: Uint8Array;
  private cookie: Uint8Array | null = null;
  private cookieSetAt = 0;
  private lastMac1: Uint8Array | null = null;

  constructor(
    private readonly crypto: CryptoProvider,
    peerPublicKey: Uint8Array,
    private readonly refreshTime: number,
  ) {
    this.mac1Key = labelKey(crypto, LABEL_MAC1, peerPublicKey);
    this.decryptionKey = labelKey(crypto, LABEL_COOKIE, peerPublicKey);
  }

  /** Fills mac1 (at mac1Offset) and mac2 (right after it) of an outgoing handshake message. */
  addMacs(message: Uint8Array, mac1Offset: number, now: number): void {
    const mac1 = this.crypto.keyedHash(this.mac1Key, message.subarray(0, mac1Offset), MAC_SIZE);
    message.set(mac1, mac1Offset);
    this.lastMac1 = mac1;
    const mac2Offset = mac1Offset + MAC_SIZE;
    if (this.cookie !== null && now - this.cookieSetAt <= this.refreshTime) {
      message.set(this.crypto.keyedHash(this.cookie, message.subarray(0, mac2Offset), MAC_SIZE), mac2Offset);
    } else {
      message.fill(0, mac2Offset, mac2Offset + MAC_SIZE);
    }
  }

  /** Stores the cookie from a reply; false if it does not decrypt against our last mac1. */
  consumeReply(reply: Uint8Array, now: number): boolean {
    if (this.lastMac1 === null) return false;
    const cookie = this.crypto.xopen(
      this.decryptionKey,
      reply.subarray(CookieReply.nonce, CookieReply.cookie),
      reply.subarray(CookieReply.cookie, COOKIE_REPLY_SIZE),
      this.lastMac1,
    );
    if (cookie === null) return false;
    this.cookie = cookie;
    this.cookieSetAt = now;
    return true;
  }
}
