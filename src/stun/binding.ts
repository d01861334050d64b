/**
 * The Binding method (RFC 5389 §7 and §10): what a client sends, what a server answers, and what
 * the client reads back. I/O-free: the server and client wrap these around their sockets.
 *
 * A request carrying a comprehension-required attribute we do not know gets a 420 (Unknown
 * Attribute) error response listing them, as §7.3.1 requires, rather than silence: the client then
 * learns at once why it will get no mapping. RFC 3489's RESPONSE-ADDRESS and CHANGE-REQUEST are
 * such attributes here, which §12.2 calls acceptable. USERNAME, MESSAGE-INTEGRITY, REALM and NONCE
 * are known to RFC 5389 but we use no credentials, so they are accepted and not checked.
 */

import { decodeAddress, encodeAddress, type StunEndpoint } from './address.js';
import {
  ATTR,
  COMPREHENSION_OPTIONAL,
  encodeStunMessage,
  METHOD_BINDING,
  parseStunMessage,
  type StunAttribute,
  type StunMessage,
} from './message.js';
import type { StunRefusal } from './refusals.js';

const KNOWN_REQUIRED: ReadonlySet<number> = new Set([
  ATTR.MAPPED_ADDRESS,
  ATTR.USERNAME,
  ATTR.MESSAGE_INTEGRITY,
  ATTR.ERROR_CODE,
  ATTR.UNKNOWN_ATTRIBUTES,
  ATTR.REALM,
  ATTR.NONCE,
  ATTR.XOR_MAPPED_ADDRESS,
]);

export const UNKNOWN_ATTRIBUTE = 420;
// RFC 5389 §15.10 caps SOFTWARE at 763 bytes, as it does an error's reason phrase.
const MAX_TEXT_BYTES = 763;
const utf8 = new TextEncoder();

/** A Binding Request. Throws RangeError on a bad transaction id or an overlong `software`. */
export function buildBindingRequest(transactionId: Uint8Array, software?: string): Uint8Array {
  return encodeStunMessage({
    method: METHOD_BINDING,
    class: 'request',
    transactionId,
    attributes: softwareAttribute(software),
  });
}

/**
 * A Binding Success Response carrying `mapped` as XOR-MAPPED-ADDRESS only: MAPPED-ADDRESS is for
 * RFC 3489 clients, which we do not answer. Throws RangeError on a bad argument.
 */
export function buildBindingSuccess(
  transactionId: Uint8Array,
  mapped: StunEndpoint,
  software?: string,
): Uint8Array {
  return encodeStunMessage({
    method: METHOD_BINDING,
    class: 'success',
    transactionId,
    attributes: [
      { type: ATTR.XOR_MAPPED_ADDRESS, value: encodeAddress(mapped, transactionId) },
      ...softwareAttribute(software),
    ],
  });
}

/**
 * A Binding Error Response with ERROR-CODE `code` (300-699) and, if given, UNKNOWN-ATTRIBUTES.
 * Throws RangeError on a bad argument.
 */
export function buildBindingError(
  transactionId: Uint8Array,
  code: number,
  reasonPhrase: string,
  unknownAttributes: readonly number[] = [],
  software?: string,
): Uint8Array {
  if (!(Number.isInteger(code) && code >= 300 && code <= 699)) {
    throw new RangeError(`STUN error code must be 300-699, got ${code}`);
  }
  const phrase = text(reasonPhrase, 'reason phrase');
  const errorCode = new Uint8Array(4 + phrase.length);
  errorCode[2] = Math.floor(code / 100);
  errorCode[3] = code % 100;
  errorCode.set(phrase, 4);
  const attributes: StunAttribute[] = [{ type: ATTR.ERROR_CODE, value: errorCode }];
  if (unknownAttributes.length > 0) {
    const list = new Uint8Array(2 * unknownAttributes.length);
    const view = new DataView(list.buffer);
    for (const [i, type] of unknownAttributes.entries()) view.setUint16(2 * i, type);
    attributes.push({ type: ATTR.UNKNOWN_ATTRIBUTES, value: list });
  }
  attributes.push(...softwareAttribute(software));
  return encodeStunMessage({ method: METHOD_BINDING, class: 'error', transactionId, attributes });
}

/** What a server does with a datagram: answer it, answer with an error, or ignore it. */
export type BindingReply =
  | { readonly reply: 'success'; readonly response: Uint8Array }
  | { readonly reply: 'error'; readonly reason: StunRefusal; readonly response: Uint8Array }
  | { readonly reply: 'none'; readonly reason: StunRefusal };

/**
 * The server side: a Binding Success Response telling `source` (the address the request came from)
 * its own address, a 420 for unknown comprehension-required attributes, or a refusal to ignore.
 * Never throws for any `datagram`.
 */
export function answerBindingRequest(
  datagram: Uint8Array,
  source: StunEndpoint,
  software?: string,
): BindingReply {
  const parsed = parseStunMessage(datagram);
  if (!parsed.ok) return { reply: 'none', reason: parsed.reason };
  const { message } = parsed;
  const refusal = checkBinding(message, 'request');
  if (refusal !== null) return { reply: 'none', reason: refusal };
  const unknown = unknownRequired(message);
  if (unknown.length > 0) {
    return {
      reply: 'error',
      reason: 'unknown-required-attribute',
      response: buildBindingError(
        message.transactionId,
        UNKNOWN_ATTRIBUTE,
        'Unknown Attribute',
        unknown,
        software,
      ),
    };
  }
  return { reply: 'success', response: buildBindingSuccess(message.transactionId, source, software) };
}

/** What a client reads from a datagram: its mapped endpoint, a server's error, or a refusal. */
export type BindingResponse =
  | { readonly kind: 'success'; readonly transactionId: Uint8Array; readonly mapped: StunEndpoint }
  | { readonly kind: 'error'; readonly transactionId: Uint8Array; readonly code: number }
  | { readonly kind: 'refused'; readonly reason: StunRefusal };

/**
 * The client side: the mapped endpoint from XOR-MAPPED-ADDRESS, or from MAPPED-ADDRESS when a
 * server sends only that. Matching the transaction id is the caller's job. Never throws.
 */
export function readBindingResponse(datagram: Uint8Array): BindingResponse {
  const parsed = parseStunMessage(datagram);
  if (!parsed.ok) return { kind: 'refused', reason: parsed.reason };
  const { message } = parsed;
  const { transactionId } = message;
  if (message.class === 'error') {
    const refusal = checkBinding(message, 'error');
    if (refusal !== null) return { kind: 'refused', reason: refusal };
    const code = errorCode(message);
    return code === null
      ? { kind: 'refused', reason: 'bad-error-code' }
      : { kind: 'error', transactionId, code };
  }
  const refusal = checkBinding(message, 'success');
  if (refusal !== null) return { kind: 'refused', reason: refusal };
  // A success response with attributes we must understand but do not is discarded (§7.3.3).
  if (unknownRequired(message).length > 0) return { kind: 'refused', reason: 'unknown-required-attribute' };
  const xor = find(message, ATTR.XOR_MAPPED_ADDRESS);
  const plain = xor === undefined ? find(message, ATTR.MAPPED_ADDRESS) : undefined;
  if (xor === undefined && plain === undefined) return { kind: 'refused', reason: 'missing-mapped-address' };
  const decoded = xor !== undefined ? decodeAddress(xor, transactionId) : decodeAddress(plain!);
  if (!decoded.ok) return { kind: 'refused', reason: decoded.reason };
  return { kind: 'success', transactionId, mapped: decoded.endpoint };
}

function checkBinding(message: StunMessage, expected: StunMessage['class']): StunRefusal | null {
  if (message.method !== METHOD_BINDING) return 'not-binding';
  if (message.class !== expected) return 'unexpected-class';
  return null;
}

/** The distinct comprehension-required attribute types we do not know, in order of appearance. */
function unknownRequired(message: StunMessage): number[] {
  const unknown = new Set<number>();
  for (const { type } of message.attributes) {
    if (type < COMPREHENSION_OPTIONAL && !KNOWN_REQUIRED.has(type)) unknown.add(type);
  }
  return [...unknown];
}

/** The first attribute of a type: §15 says later duplicates may be ignored. */
function find(message: StunMessage, type: number): Uint8Array | undefined {
  return message.attributes.find((a) => a.type === type)?.value;
}

function errorCode(message: StunMessage): number | null {
  const value = find(message, ATTR.ERROR_CODE);
  if (value === undefined || value.length < 4) return null;
  const errorClass = value[2]! & 0x07;
  const number = value[3]!;
  if (errorClass < 3 || errorClass > 6 || number > 99) return null;
  return errorClass * 100 + number;
}

function softwareAttribute(software: string | undefined): StunAttribute[] {
  return software === undefined ? [] : [{ type: ATTR.SOFTWARE, value: text(software, 'SOFTWARE') }];
}

function text(value: string, what: string): Uint8Array {
  const bytes = utf8.encode(value);
  if (bytes.length > MAX_TEXT_BYTES) throw new RangeError(`${what} exceeds ${MAX_TEXT_BYTES} bytes`);
  return bytes;
}
