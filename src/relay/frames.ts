/**
 * The relay's frames, carried one per sealed Noise frame (see src/control/framing.ts for the outer
 * length prefix). Binary rather than JSON because every relayed WireGuard packet is one of these:
 * a type byte, then fixed-size fields, then (for packets) the rest of the frame as the payload, so
 * the packet is a view of the decrypted bytes and never copied or re-encoded.
 *
 *   device → relay   0x01 send       dst key (32) ‖ packet (1..65536)
 *                    0x02 ping       id (u32, big-endian)
 *   relay → device   0x81 recv       src key (32) ‖ packet (1..65536)
 *                    0x82 pong       id (u32, big-endian)
 *                    0x83 peer-gone  key (32): the destination of a send is not connected here
 *                    0x84 health     UTF-8 text (0..1024 bytes): why the relay is closing, etc.
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

const SEND = 0x01;
const PING = 0x02;
const RECV = 0x81;
const PONG = 0x82;
const PEER_GONE = 0x83;
const HEALTH = 0x84;

export type ClientFrame =
  | { type: 'send'; dst: Uint8Array; packet: Uint8Array }
  | { type: 'ping'; id: number };

export type RelayFrame =
  | { type: 'recv'; src: Uint8Array; packet: Uint8Array }
  | { type: 'pong'; id: number }
  | { type: 'peer-gone'; key: Uint8Array }
  | { type: 'health'; message: string };

export type FrameFault =
  | 'empty'
  | 'unknown-type'
  | 'truncated'
  | 'trailing-bytes'
  | 'empty-packet'
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

/** Parses a frame a device sent to the relay. Throws RelayFrameError and nothing else. */
export function parseClientFrame(bytes: Uint8Array): ClientFrame {
  switch (typeOf(bytes)) {
    case SEND: {
      const { key, packet } = keyAndPacket(bytes);
      return { type: 'send', dst: key, packet };
    }
    case PING:
      return { type: 'ping', id: u32Body(bytes) };
    default:
      throw new RelayFrameError('unknown-type');
  }
}

/** Parses a frame the relay sent to a device. Throws RelayFrameError and nothing else. */
export function parseRelayFrame(bytes: Uint8Array): RelayFrame {
  switch (typeOf(bytes)) {
    case RECV: {
      const { key, packet } = keyAndPacket(bytes);
      return { type: 'recv', src: key, packet };
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
