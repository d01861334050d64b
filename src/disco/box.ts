/**
 * Sealed disco packets, as sent on the WireGuard UDP socket and through the relay:
 *
 *   magic "BRWDSC" (6) ‖ sender's disco public key (32) ‖ nonce (24) ‖ ciphertext ‖ tag (16)
 *
 * sealed with XChaCha20-Poly1305 under BLAKE2s(LABEL ‖ X25519(our disco key, theirs)), with the
 * first 38 bytes as associated data. Disco keys are separate from WireGuard keys, so that path discovery never touches the keys
 * that protect traffic. The nonce is random: 24 bytes make a collision negligible without any state.
 *
 * The magic's first byte, 0x42, sets it apart from the other protocols on the socket: a WireGuard
 * message starts with a type of 1 to 4, and a STUN message with two zero bits.
 *
 * Opening runs on untrusted datagrams, so it never throws: it returns a result naming the reason for
 * a refusal, and counts it. Nothing here stops replays: a replayed ping only earns a pong, and a pong
 * counts only for the txid of a ping still outstanding, which is the caller's to track.
 */

import { bytesToHex } from '@noble/hashes/utils.js';
import type { CryptoProvider } from '../crypto/types.js';
import {
  DISCO_REFUSALS,
  DiscoError,
  type DiscoMessage,
  encodeDiscoMessage,
  MAX_DISCO_MESSAGE,
  MIN_DISCO_MESSAGE,
  parseDiscoMessage,
} from './message.js';

export const DISCO_MAGIC = new Uint8Array([0x42, 0x52, 0x57, 0x44, 0x53, 0x43]); // "BRWDSC"
const KEY_LENGTH = 32;
const NONCE_LENGTH = 24;
const TAG_LENGTH = 16;
const SENDER_AT = DISCO_MAGIC.length;
const NONCE_AT = SENDER_AT + KEY_LENGTH;
const CIPHERTEXT_AT = NONCE_AT + NONCE_LENGTH;
const MIN_DISCO_PACKET = CIPHERTEXT_AT + MIN_DISCO_MESSAGE + TAG_LENGTH;
/** The largest sealed packet: a call-me-maybe with the most endpoints. */
export const MAX_DISCO_PACKET = CIPHERTEXT_AT + MAX_DISCO_MESSAGE + TAG_LENGTH;
// Keeps these keys from ever equalling a key derived from the same X25519 secret for another purpose.
const LABEL = new TextEncoder().encode('burrow disco v1');

export const DISCO_OPEN_REFUSALS = [
  ...DISCO_REFUSALS,
  // No magic: some other protocol's datagram.
  'not-disco',
  // Larger than any packet we would seal.
  'oversize',
  // The sender's key is of low order: X25519 gives no secret.
  'bad-key',
  // The tag does not verify: tampered, or sealed for another key.
  'decrypt-failed',
  // A bug: something threw. Counted, never expected.
  'internal-error',
] as const;

export type DiscoOpenRefusal = (typeof DISCO_OPEN_REFUSALS)[number];

export type DiscoOpenResult =
  | { ok: true; sender: Uint8Array; message: DiscoMessage }
  | { ok: false; reason: DiscoOpenRefusal };

/**
 * Whether a datagram is meant as disco: the magic and room for the smallest sealed message. Cheap,
 * as it runs on every datagram; whether it opens is `DiscoBox.open`'s business.
 */
export function isDiscoPacket(data: Uint8Array): boolean {
  return data.length >= MIN_DISCO_PACKET && hasMagic(data);
}

function hasMagic(data: Uint8Array): boolean {
  if (data.length < DISCO_MAGIC.length) return false;
  for (let i = 0; i < DISCO_MAGIC.length; i++) if (data[i] !== DISCO_MAGIC[i]) return false;
  return true;
}

/** Seals and opens disco packets with one device's disco key pair. */
export class DiscoBox {
  readonly publicKey: Uint8Array;
  /** Refusal counters by reason, for metrics; every reason is present from the start. */
  readonly refusals: Record<DiscoOpenRefusal, number>;
  private readonly privateKey: Uint8Array;
  /**
   * Shared keys by the peer's public key (hex), least recently used first. X25519 costs tens of
   * microseconds, and every ping, pong and call-me-maybe needs the key.
   */
  private readonly keys = new Map<string, Uint8Array>();

  constructor(
    private readonly crypto: CryptoProvider,
    privateKey: Uint8Array,
    private readonly random: (n: number) => Uint8Array,
    private readonly maxCachedKeys = 4096,
  ) {
    if (privateKey.length !== KEY_LENGTH) {
      throw new RangeError(`disco private key must be ${KEY_LENGTH} bytes, got ${privateKey.length}`);
    }
    if (!(Number.isInteger(maxCachedKeys) && maxCachedKeys >= 1)) {
      throw new RangeError(`maxCachedKeys must be a positive integer, got ${maxCachedKeys}`);
    }
    this.privateKey = privateKey.slice();
    this.publicKey = crypto.x25519PublicKey(this.privateKey);
    this.refusals = Object.fromEntries(DISCO_OPEN_REFUSALS.map((reason) => [reason, 0])) as Record<
      DiscoOpenRefusal,
      number
    >;
  }

  /** Seals `message` for the holder of `theirPublicKey`. Throws RangeError on a bad key or message. */
  seal(theirPublicKey: Uint8Array, message: DiscoMessage): Uint8Array {
    if (theirPublicKey.length !== KEY_LENGTH) {
      throw new RangeError(`disco public key must be ${KEY_LENGTH} bytes, got ${theirPublicKey.length}`);
    }
    const plaintext = encodeDiscoMessage(message);
    const id = bytesToHex(theirPublicKey);
    let key = this.cached(id);
    if (key === undefined) {
      const derived = this.derive(theirPublicKey);
      if (derived === null) throw new RangeError('disco public key is of low order');
      key = derived;
      // A peer we chose to write to is worth remembering.
      this.remember(id, key);
    }
    const nonce = this.random(NONCE_LENGTH);
    if (nonce.length !== NONCE_LENGTH)
      throw new RangeError(`random gave ${nonce.length} bytes, not ${NONCE_LENGTH}`);
    const packet = new Uint8Array(CIPHERTEXT_AT + plaintext.length + TAG_LENGTH);
    packet.set(DISCO_MAGIC);
    packet.set(this.publicKey, SENDER_AT);
    packet.set(nonce, NONCE_AT);
    packet.set(this.crypto.xseal(key, nonce, plaintext, packet.subarray(0, NONCE_AT)), CIPHERTEXT_AT);
    return packet;
  }

  /** Opens a sealed packet from anyone. Never throws; a refusal is counted in `refusals`. */
  open(packet: Uint8Array): DiscoOpenResult {
    let result: DiscoOpenResult;
    try {
      result = this.tryOpen(packet);
    } catch {
      result = { ok: false, reason: 'internal-error' };
    }
    if (!result.ok) this.refusals[result.reason]++;
    return result;
  }

  private tryOpen(packet: Uint8Array): DiscoOpenResult {
    if (!hasMagic(packet)) return { ok: false, reason: 'not-disco' };
    if (packet.length < MIN_DISCO_PACKET) return { ok: false, reason: 'truncated' };
    if (packet.length > MAX_DISCO_PACKET) return { ok: false, reason: 'oversize' };
    const sender = packet.slice(SENDER_AT, NONCE_AT);
    const id = bytesToHex(sender);
    const cached = this.cached(id);
    const key = cached ?? this.derive(sender);
    if (key === null) return { ok: false, reason: 'bad-key' };
    const plaintext = this.crypto.xopen(
      key,
      packet.subarray(NONCE_AT, CIPHERTEXT_AT),
      packet.subarray(CIPHERTEXT_AT),
      // The sender's key as sent: X25519 ignores its top bit, and flipping that bit must not give a
      // second valid packet naming another sender.
      packet.subarray(0, NONCE_AT),
    );
    if (plaintext === null) return { ok: false, reason: 'decrypt-failed' };
    // Only a sender that proved it holds the key gets a cache entry: packets forged with random
    // sender keys must not push real peers out.
    if (cached === undefined) this.remember(id, key);
    try {
      return { ok: true, sender, message: parseDiscoMessage(plaintext) };
    } catch (error) {
      if (error instanceof DiscoError) return { ok: false, reason: error.reason };
      throw error;
    }
  }

  private derive(theirPublicKey: Uint8Array): Uint8Array | null {
    const shared = this.crypto.x25519(this.privateKey, theirPublicKey);
    if (shared === null) return null;
    const key = this.crypto.hash(LABEL, shared);
    shared.fill(0);
    return key;
  }

  private cached(id: string): Uint8Array | undefined {
    const key = this.keys.get(id);
    if (key !== undefined) {
      // Moved to the back: the front is the least recently used, evicted first.
      this.keys.delete(id);
      this.keys.set(id, key);
    }
    return key;
  }

  private remember(id: string, key: Uint8Array): void {
    if (this.keys.size >= this.maxCachedKeys) {
      const oldest = this.keys.keys().next().value!;
      this.keys.get(oldest)!.fill(0);
      this.keys.delete(oldest);
    }
    this.keys.set(id, key);
  }
}
