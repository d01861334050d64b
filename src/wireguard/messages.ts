import {
  COOKIE_REPLY_SIZE,
  INITIATION_SIZE,
  MAX_MESSAGE_SIZE,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  MESSAGE_TRANSPORT,
  RESPONSE_SIZE,
  TRANSPORT_HEADER_SIZE,
  TRANSPORT_MIN_SIZE,
} from './constants.js';

/**
 * WireGuard's four message layouts (whitepaper §5.4). Offsets are named once here; everything else
 * reads fields through these helpers. All integers are little-endian.
 */

export const Initiation = {
  sender: 4,
  ephemeral: 8,
  /** Start and end of the Noise message (e, s, timestamp) inside the initiation. */
  noiseStart: 8,
  noiseEnd: 116,
  mac1: 116,
  mac2: 132,
} as const;

export const Response = {
  sender: 4,
  receiver: 8,
  noiseStart: 12,
  noiseEnd: 60,
  mac1: 60,
  mac2: 76,
} as const;

export const CookieReply = {
  receiver: 4,
  nonce: 8,
  cookie: 32,
} as const;

export const Transport = {
  receiver: 4,
  counter: 8,
  payload: TRANSPORT_HEADER_SIZE,
} as const;

export type MessageKind = 'initiation' | 'response' | 'cookie-reply' | 'transport';

/** Why a datagram is not a well-formed WireGuard message. */
export type FramingError = 'unknown-type' | 'bad-length' | 'oversize';

/**
 * Classifies a datagram by its first four bytes (type plus three zero reserved bytes, read as one
 * little-endian word, as wireguard-go does) and checks its length for that type.
 */
export function classify(data: Uint8Array): MessageKind | FramingError {
  if (data.length > MAX_MESSAGE_SIZE) return 'oversize';
  if (data.length < 4) return 'bad-length';
  const word = readU32(data, 0);
  switch (word) {
    case MESSAGE_INITIATION:
      return data.length === INITIATION_SIZE ? 'initiation' : 'bad-length';
    case MESSAGE_RESPONSE:
      return data.length === RESPONSE_SIZE ? 'response' : 'bad-length';
    case MESSAGE_COOKIE_REPLY:
      return data.length === COOKIE_REPLY_SIZE ? 'cookie-reply' : 'bad-length';
    case MESSAGE_TRANSPORT:
      return data.length >= TRANSPORT_MIN_SIZE ? 'transport' : 'bad-length';
    default:
      return 'unknown-type';
  }
}

export function readU32(data: Uint8Array, offset: number): number {
  return (
    (data[offset]! | (data[offset + 1]! << 8) | (data[offset + 2]! << 16) | (data[offset + 3]! << 24)) >>> 0
  );
}

export function writeU32(data: Uint8Array, offset: number, value: number): void {
  data[offset] = value;
  data[offset + 1] = value >>> 8;
  data[offset + 2] = value >>> 16;
  data[offset + 3] = value >>> 24;
}

/** Reads a 64-bit little-endian counter. Values at or above 2^53 come back as Infinity, which
 * every limit check rejects, rather than as a rounded number. */
export function readCounter(data: Uint8Array, offset: number): number {
  const lo = readU32(data, offset);
  const hi = readU32(data, offset + 4);
  if (hi >= 0x200000) return Number.POSITIVE_INFINITY;
  return hi * 0x1_0000_0000 + lo;
}

export function writeCounter(data: Uint8Array, offset: number, value: number): void {
  writeU32(data, offset, value >>> 0);
  writeU32(data, offset + 4, Math.floor(value / 0x1_0000_0000));
}

/** Writes a message type word (type plus three zero reserved bytes). */
export function writeType(data: Uint8Array, type: number): void {
  writeU32(data, 0, type);
}
