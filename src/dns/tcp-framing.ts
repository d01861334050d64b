/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766 §8): each message behind a 2-byte big-endian length. The
 * framer takes a connection's bytes in whatever chunks they arrive and yields whole messages. It
 * refuses a length over its bound as soon as the prefix arrives, before buffering any of the body,
 * so a connection never holds more than one incomplete message: at most 1 + maxMessage bytes.
 */

import { HEADER_LENGTH, MAX_MESSAGE } from './constants.js';

export const TCP_FRAMING_FAULTS = [
  // A length prefix over the framer's bound.
  'oversize-message',
  // A length prefix under a DNS header's 12 bytes: nothing that could be a message.
  'undersize-message',
] as const;

export type TcpFramingFault = (typeof TCP_FRAMING_FAULTS)[number];

/** A stream that cannot be DNS over TCP; the connection is to be closed. */
export class TcpFramingError extends Error {
  constructor(readonly fault: TcpFramingFault) {
    super(`DNS over TCP: ${fault}`);
    this.name = 'TcpFramingError';
  }
}

/** A message with its length prefix, to write to a connection. */
export function frameForTcp(message: Uint8Array): Uint8Array {
  if (message.length > MAX_MESSAGE) throw new RangeError(`DNS message of ${message.length} bytes`);
  const out = new Uint8Array(2 + message.length);
  out[0] = message.length >>> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}

export class TcpFramer {
  /** Bytes of an incomplete message (prefix included), carried to the next push. */
  private held = new Uint8Array(0);

  /** `maxMessage`: the largest message taken; a client's query needs far less than 64 KiB. */
  constructor(private readonly maxMessage = MAX_MESSAGE) {}

  /**
   * Every message the stream completes with `chunk`, in order (views of the chunk where they lie
   * whole in it). Throws TcpFramingError for a length out of bounds; the framer is then done.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    let bytes = chunk;
    if (this.held.length > 0) {
      bytes = new Uint8Array(this.held.length + chunk.length);
      bytes.set(this.held);
      bytes.set(chunk, this.held.length);
    }
    const out: Uint8Array[] = [];
    let at = 0;
    while (bytes.length - at >= 2) {
      const length = (bytes[at]! << 8) | bytes[at + 1]!;
      if (length > this.maxMessage) throw new TcpFramingError('oversize-message');
      if (length < HEADER_LENGTH) throw new TcpFramingError('undersize-message');
      if (bytes.length - at - 2 < length) break;
      out.push(bytes.subarray(at + 2, at + 2 + length));
      at += 2 + length;
    }
    // Copied, so that a held remainder does not keep a whole large chunk alive.
    this.held = at === bytes.length ? new Uint8Array(0) : bytes.slice(at);
    return out;
  }

  /** Bytes received that do not yet make a whole message. */
  get pending(): number {
    return this.held.length;
  }
}
