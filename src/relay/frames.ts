/**
 * The relay's frames, carried one per sealed Noise frame (see src/control/framing.ts for the outer
 * length prefix). Binary rather than JSON because every relayed WireGuard packet is one of these:
 * a type byte, then fixed-size fields, then (for packets) the rest of the frame as the payload, so
 * the packet is a view of the decrypted bytes and never copied or re-encoded.
 *
 *   device → relay   0x01 send        dst key (32) ‖ packet (1..65536)
 *                    0x02 ping        id (u32, big-endian)
 *                    0x03 send-batch  dst key (32) ‖ entries (version 2)
 *   relay → device   0x81 recv        src key (32) ‖ packet (1..65536)
 *                    0x82 pong        id (u32, big-endian)
 *                    0x83 peer-gone   key (32): the destination of a send is not connected here
 *                    0x84 health      UTF-8 text (0..1024 bytes): why the relay is closing, etc.
 *                    0x85 recv-batch  src key (32) ‖ entries (version 2)
 *
 * A batch's entries are one or more of: length (u16, big-endian, at least 1) ‖ packet, filling the
 * frame exactly. Batches carry the packets a device sends to one peer in one turn of its event loop,
 * so that each side seals, opens and frames once per batch rather than once per packet: per-call
 * set-up, not bytes, is what the relay's crypto costs for WireGuard-sized packets. The batch frames
 * exist only on connections whose hellos agreed on version 2 (src/relay/hello.ts); a send-batch and
 * a recv-batch have the same layout, so the relay forwards one by rewriting its first 33 bytes.
 *
 * There is no separate keepalive: the device's periodic ping both keeps the relay's idle timer
 * fresh and, by its pong, proves to the device that the relay is still there.
 */

export const KEY_BYTES = 32;
/** Largest packet relayed: a WireGuard message never comes near it, and the frame stays bounded. */
export const MAX_PACKET = 64 * 1024;
export const MAX_HEALTH_BYTES = 1024;
/** Largest plaintext frame (a send or recv of a maximal packet). */
export const MAX_RELAY_FRAME = 1 + KEY_BYTES + MAX_PACKET;
/** Largest sealed frame on the wire (plaintext plus the AEAD tag): the FrameReader's limit. */
export const MAX_SEALED_RELAY_FRAME = MAX_RELAY_FRAME + 16;

/** The first byte and the key of a packet frame, single or batch: what the relay rewrites. */
export const PACKET_FRAME_HEADER = 1 + KEY_BYTES;
const ENTRY_HEADER = 2;
/** Largest packet a batch takes (alone); UDP datagrams never come near it. */
export const MAX_BATCH_PACKET = MAX_RELAY_FRAME - PACKET_FRAME_HEADER - ENTRY_HEADER;

const SEND = 0x01;
const PING = 0x02;
const SEND_BATCH = 0x03;
const RECV = 0x81;
const PONG = 0x82;
const PEER_GONE = 0x83;
const HEALTH = 0x84;
const RECV_BATCH = 0x85;

/** The relay protocol's versions (src/relay/hello.ts): 2 adds the batch frames. */
export type RelayVersion = 1 | 2;

export type ClientFrame =
  | { type: 'send'; dst: Uint8Array; packet: Uint8Array }
  | { type: 'send-batch'; dst: Uint8Array; packets: Uint8Array[] }
  | { type: 'ping'; id: number };

export type RelayFrame =
  | { type: 'recv'; src: Uint8Array; packet: Uint8Array }
  | { type: 'recv-batch'; src: Uint8Array; packets: Uint8Array[] }
  | { type: 'pong'; id: number }
  | { type: 'peer-gone'; key: Uint8Array }
  | { type: 'health'; message: string };

export type FrameFault =
  | 'empty'
  | 'unknown-type'
  | 'truncated'
  | 'trailing-bytes'
  | 'empty-packet'
  | 'empty-batch'
  | 'packet-too-large'
  | 'health-too-long'
  | 'bad-utf8';

/** A frame that does not parse; `fault` names why, for counters and for the peer's health message. */
export class RelayFrameError extends Error {
  constructor(readonly fault: FrameFault) {
    super(`malformed relay frame: ${fault}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Parses a frame a device sent to the relay on a connection of `version`. Throws RelayFrameError
 * and nothing else. */
export function parseClientFrame(bytes: Uint8Array, version: RelayVersion): ClientFrame {
  switch (typeOf(bytes)) {
    case SEND: {
      const { key, packet } = keyAndPacket(bytes);
      return { type: 'send', dst: key, packet };
    }
    case PING:
      return { type: 'ping', id: u32Body(bytes) };
    case SEND_BATCH: {
      if (version < 2) throw new RelayFrameError('unknown-type');
      const { key, packets } = keyAndPackets(bytes);
      return { type: 'send-batch', dst: key, packets };
    }
    default:
      throw new RelayFrameError('unknown-type');
  }
}

/** Parses a frame the relay sent to a device on a connection of `version`. Throws RelayFrameError
 * and nothing else. */
export function parseRelayFrame(bytes: Uint8Array, version: RelayVersion): RelayFrame {
  switch (typeOf(bytes)) {
    case RECV: {
      const { key, packet } = keyAndPacket(bytes);
      return { type: 'recv', src: key, packet };
    }
    case RECV_BATCH: {
      if (version < 2) throw new RelayFrameError('unknown-type');
      const { key, packets } = keyAndPackets(bytes);
      return { type: 'recv-batch', src: key, packets };
    }
    case PONG:
      return { type: 'pong', id: u32Body(bytes) };
    case PEER_GONE:
      exactLength(bytes, 1 + KEY_BYTES);
      return { type: 'peer-gone', key: bytes.subarray(1) };
    case HEALTH: {
      if (bytes.length - 1 > MAX_HEALTH_BYTES) throw new RelayFrameError('health-too-long');
      try {
        return { type: 'health', message: utf8.decode(bytes.subarray(1)) };
      } catch {
        throw new RelayFrameError('bad-utf8');
      }
    }
    default:
      throw new RelayFrameError('unknown-type');
  }
}

export const encodeSend = (dst: Uint8Array, packet: Uint8Array): Uint8Array =>
  keyAndPacketFrame(SEND, dst, packet);
export const encodeRecv = (src: Uint8Array, packet: Uint8Array): Uint8Array =>
  keyAndPacketFrame(RECV, src, packet);
export const encodePing = (id: number): Uint8Array => u32Frame(PING, id);

/**
 * Turns a device's send or send-batch frame into the recv or recv-batch frame for its destination,
 * in place: the type byte and the key (the destination's, now the sender's authenticated one) are
 * the only differences. The frame must have parsed.
 */
export function stampSource(frame: Uint8Array, src: Uint8Array): Uint8Array {
  checkKey(src);
  frame[0] = frame[0] === SEND_BATCH ? RECV_BATCH : RECV;
  frame.set(src, 1);
  return frame;
}

/**
 * Collects the packets for one send-batch frame in a buffer of its own, reused from one frame to
 * the next, so that each packet is copied once on its way to the sealed frame.
 */
export class SendBatch {
  private readonly buffer = new Uint8Array(MAX_RELAY_FRAME);
  private length = 0;
  private count = 0;

  /** Packets added since the last `take`. */
  get size(): number {
    return this.count;
  }

  /** Whether `packet` fits beside what is already there; a packet that fits no batch throws. */
  fits(packet: Uint8Array): boolean {
    if (packet.length === 0 || packet.length > MAX_BATCH_PACKET) {
      throw new RangeError(`packet must be 1..${MAX_BATCH_PACKET} bytes, got ${packet.length}`);
    }
    return Math.max(this.length, PACKET_FRAME_HEADER) + ENTRY_HEADER + packet.length <= MAX_RELAY_FRAME;
  }

  /** Appends `packet` (copied) for `dst`; the caller has checked that it `fits`, and takes the
   * batch before adding a packet for another destination. */
  add(dst: Uint8Array, packet: Uint8Array): void {
    if (!this.fits(packet)) throw new RangeError('the batch is full');
    if (this.count === 0) {
      checkKey(dst);
      this.buffer[0] = SEND_BATCH;
      this.buffer.set(dst, 1);
      this.length = PACKET_FRAME_HEADER;
    }
    this.buffer[this.length] = packet.length >> 8;
    this.buffer[this.length + 1] = packet.length & 0xff;
    this.buffer.set(packet, this.length + ENTRY_HEADER);
    this.length += ENTRY_HEADER + packet.length;
    this.count++;
  }

  /** Whether the batch is for `dst`. */
  isFor(dst: Uint8Array): boolean {
    if (this.count === 0 || dst.length !== KEY_BYTES) return false;
    for (let i = 0; i < KEY_BYTES; i++) if (this.buffer[1 + i] !== dst[i]) return false;
    return true;
  }

  /** The frame, valid until the next `add`, and an empty batch. */
  take(): Uint8Array {
    const frame = this.buffer.subarray(0, this.length);
    this.length = 0;
    this.count = 0;
    return frame;
  }
}
export const encodePong = (id: number): Uint8Array => u32Frame(PONG, id);

export function encodePeerGone(key: Uint8Array): Uint8Array {
  checkKey(key);
  const out = new Uint8Array(1 + KEY_BYTES);
  out[0] = PEER_GONE;
  out.set(key, 1);
  return out;
}

export function encodeHealth(message: string): Uint8Array {
  const text = encoder.encode(message);
  if (text.length > MAX_HEALTH_BYTES)
    throw new RangeError(`health message exceeds ${MAX_HEALTH_BYTES} bytes`);
  const out = new Uint8Array(1 + text.length);
  out[0] = HEALTH;
  out.set(text, 1);
  return out;
}

function typeOf(bytes: Uint8Array): number {
  if (bytes.length === 0) throw new RelayFrameError('empty');
  return bytes[0]!;
}

function exactLength(bytes: Uint8Array, length: number): void {
  if (bytes.length < length) throw new RelayFrameError('truncated');
  if (bytes.length > length) throw new RelayFrameError('trailing-bytes');
}

function keyAndPacket(bytes: Uint8Array): { key: Uint8Array; packet: Uint8Array } {
  if (bytes.length < 1 + KEY_BYTES) throw new RelayFrameError('truncated');
  const packet = bytes.subarray(1 + KEY_BYTES);
  if (packet.length === 0) throw new RelayFrameError('empty-packet');
  if (packet.length > MAX_PACKET) throw new RelayFrameError('packet-too-large');
  return { key: bytes.subarray(1, 1 + KEY_BYTES), packet };
}

function keyAndPackets(bytes: Uint8Array): { key: Uint8Array; packets: Uint8Array[] } {
  if (bytes.length < PACKET_FRAME_HEADER) throw new RelayFrameError('truncated');
  if (bytes.length === PACKET_FRAME_HEADER) throw new RelayFrameError('empty-batch');
  const packets: Uint8Array[] = [];
  let offset = PACKET_FRAME_HEADER;
  while (offset < bytes.length) {
    if (offset + ENTRY_HEADER > bytes.length) throw new RelayFrameError('truncated');
    const length = (bytes[offset]! << 8) | bytes[offset + 1]!;
    if (length === 0) throw new RelayFrameError('empty-packet');
    offset += ENTRY_HEADER;
    if (offset + length > bytes.length) throw new RelayFrameError('truncated');
    packets.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return { key: bytes.subarray(1, PACKET_FRAME_HEADER), packets };
}

function u32Body(bytes: Uint8Array): number {
  exactLength(bytes, 5);
  return new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getUint32(0);
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`key must be ${KEY_BYTES} bytes, got ${key.length}`);
}

function keyAndPacketFrame(type: number, key: Uint8Array, packet: Uint8Array): Uint8Array {
  checkKey(key);
  if (packet.length === 0 || packet.length > MAX_PACKET) {
    throw new RangeError(`packet must be 1..${MAX_PACKET} bytes, got ${packet.length}`);
  }
  const out = new Uint8Array(1 + KEY_BYTES + packet.length);
  out[0] = type;
  out.set(key, 1);
  out.set(packet, 1 + KEY_BYTES);
  return out;
}

function u32Frame(type: number, id: number): Uint8Array {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff_ffff)
    throw new RangeError(`id must be a u32, got ${id}`);
  const out = new Uint8Array(5);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, id);
  return out;
}
