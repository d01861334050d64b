/**
 * STUN messages (RFC 5389 §6 and §15): the 20-byte header and the attribute list, parsed strictly
 * and built with a FINGERPRINT. What the attributes mean is binding.ts's business; this file only
 * frames them.
 *
 * Parsing runs on untrusted datagrams, so it never throws: it returns a result naming the reason
 * for a refusal. Building takes our own values, so a bad argument there is a bug and throws a
 * RangeError.
 */

import { crc32 } from './crc32.js';
import type { StunRefusal } from './refusals.js';

export const HEADER_LENGTH = 20;
export const MAGIC_COOKIE = 0x2112a442;
export const TRANSACTION_ID_LENGTH = 12;
export const METHOD_BINDING = 0x001;
// The FINGERPRINT CRC is XORed with "STUN" so that it differs from the CRC of any protocol the
// message may be multiplexed with (RFC 5389 §15.5).
export const FINGERPRINT_XOR = 0x5354554e;

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_MAPPED_ADDRESS: 0x0020,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
} as const;

/** Types below this must be understood by the receiver, or the message is refused (§15). */
export const COMPREHENSION_OPTIONAL = 0x8000;

export type StunClass = 'request' | 'indication' | 'success' | 'error';
const CLASSES: readonly StunClass[] = ['request', 'indication', 'success', 'error'];

export interface StunAttribute {
  readonly type: number;
  readonly value: Uint8Array;
}

export interface StunMessage {
  /** The 12-bit method; 1 is Binding. */
  readonly method: number;
  readonly class: StunClass;
  /** 12 bytes. */
  readonly transactionId: Uint8Array;
  /**
   * The attributes in order, without FINGERPRINT, and without those after MESSAGE-INTEGRITY, which
   * RFC 5389 §15.4 says to ignore. Values are views into the parsed datagram, not copies.
   */
  readonly attributes: readonly StunAttribute[];
  /** Whether a FINGERPRINT was present (it was verified if so). */
  readonly fingerprint: boolean;
}

export type StunParse = { ok: true; message: StunMessage } | { ok: false; reason: StunRefusal };

const FINGERPRINT_ATTRIBUTE_LENGTH = 8;

/** The header checks that `isStunPacket` also makes, or the first one that fails. */
export function checkHeader(bytes: Uint8Array): StunRefusal | null {
  if (bytes.length < HEADER_LENGTH) return 'too-short';
  if ((bytes[0]! & 0xc0) !== 0) return 'leading-bits-set';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(4) !== MAGIC_COOKIE) return 'bad-magic-cookie';
  const length = view.getUint16(2);
  if (length % 4 !== 0) return 'length-not-multiple-of-4';
  if (length !== bytes.length - HEADER_LENGTH) return 'length-mismatch';
  return null;
}

/** Parses one STUN message that fills `bytes` exactly. Never throws. */
export function parseStunMessage(bytes: Uint8Array): StunParse {
  const headerRefusal = checkHeader(bytes);
  if (headerRefusal !== null) return { ok: false, reason: headerRefusal };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(0);
  const attributes: StunAttribute[] = [];
  let afterIntegrity = false;
  let fingerprint = false;
  for (let at = HEADER_LENGTH; at < bytes.length; ) {
    if (fingerprint) return { ok: false, reason: 'attribute-after-fingerprint' };
    if (bytes.length - at < 4) return { ok: false, reason: 'truncated-attribute' };
    const attrType = view.getUint16(at);
    const length = view.getUint16(at + 2);
    const start = at + 4;
    // Padding to 4 bytes is part of the attribute; its bytes' values are ignored (§15).
    const next = start + Math.ceil(length / 4) * 4;
    if (next > bytes.length) return { ok: false, reason: 'truncated-attribute' };
    const value = bytes.subarray(start, start + length);
    if (attrType === ATTR.FINGERPRINT) {
      if (length !== 4) return { ok: false, reason: 'bad-fingerprint-length' };
      const expected = (crc32(bytes.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0;
      if (view.getUint32(start) !== expected) return { ok: false, reason: 'fingerprint-mismatch' };
      fingerprint = true;
    } else if (!afterIntegrity) {
      attributes.push({ type: attrType, value });
      if (attrType === ATTR.MESSAGE_INTEGRITY) afterIntegrity = true;
    }
    at = next;
  }
  return {
    ok: true,
    message: {
      method: (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2),
      class: CLASSES[((type >> 4) & 1) | ((type >> 7) & 2)]!,
      transactionId: bytes.subarray(8, HEADER_LENGTH),
      attributes,
      fingerprint,
    },
  };
}

export interface StunMessageInit {
  method: number;
  class: StunClass;
  transactionId: Uint8Array;
  attributes: readonly StunAttribute[];
}

/** Builds a message and ends it with a FINGERPRINT. Throws RangeError on a bad argument. */
export function encodeStunMessage(init: StunMessageInit): Uint8Array {
  if (!(Number.isInteger(init.method) && init.method >= 0 && init.method <= 0xfff)) {
    throw new RangeError(`STUN method must be a 12-bit integer, got ${init.method}`);
  }
  if (init.transactionId.length !== TRANSACTION_ID_LENGTH) {
    throw new RangeError(`transaction id must be ${TRANSACTION_ID_LENGTH} bytes`);
  }
  let bodyLength = FINGERPRINT_ATTRIBUTE_LENGTH;
  for (const { type, value } of init.attributes) {
    if (!(Number.isInteger(type) && type >= 0 && type <= 0xffff) || type === ATTR.FINGERPRINT) {
      throw new RangeError(`bad STUN attribute type ${type}`);
    }
    if (value.length > 0xffff) throw new RangeError(`STUN attribute ${type} value exceeds 65535 bytes`);
    bodyLength += 4 + Math.ceil(value.length / 4) * 4;
  }
  if (bodyLength > 0xffff) throw new RangeError(`STUN message body of ${bodyLength} bytes exceeds 65535`);

  const out = new Uint8Array(HEADER_LENGTH + bodyLength);
  const view = new DataView(out.buffer);
  const m = init.method;
  const c = CLASSES.indexOf(init.class);
  view.setUint16(
    0,
    (m & 0x000f) | ((m & 0x0070) << 1) | ((m & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7),
  );
  view.setUint16(2, bodyLength);
  view.setUint32(4, MAGIC_COOKIE);
  out.set(init.transactionId, 8);
  let at = HEADER_LENGTH;
  for (const { type, value } of init.attributes) {
    view.setUint16(at, type);
    view.setUint16(at + 2, value.length);
    out.set(value, at + 4);
    at += 4 + Math.ceil(value.length / 4) * 4;
  }
  view.setUint16(at, ATTR.FINGERPRINT);
  view.setUint16(at + 2, 4);
  view.setUint32(at + 4, (crc32(out.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0);
  return out;
}
