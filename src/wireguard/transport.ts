import { MESSAGE_TRANSPORT, TAG_SIZE, TRANSPORT_HEADER_SIZE } from './constants.js';
import type { Keypair } from './keypair.js';
import { Transport, writeCounter, writeType, writeU32 } from './messages.js';

/** WireGuard pads the plaintext to a multiple of 16, but not past the MTU (whitepaper §5.4.6). */
export function paddedLength(length: number, mtu: number): number {
  if (length > mtu) return length;
  return Math.min((length + 15) & ~15, mtu);
}

/** Encrypts one tunnel packet (empty for a keepalive) into a type-4 message with the next counter. */
export function sealTransport(kp: Keypair, packet: Uint8Array, mtu: number): Uint8Array {
  const padded = paddedLength(packet.length, mtu);
  const message = new Uint8Array(TRANSPORT_HEADER_SIZE + padded + TAG_SIZE);
  const counter = kp.sendCounter++;
  writeType(message, MESSAGE_TRANSPORT);
  writeU32(message, Transport.receiver, kp.remoteIndex);
  writeCounter(message, Transport.counter, counter);
  let plaintext = packet;
  if (padded !== packet.length) {
    plaintext = new Uint8Array(padded);
    plaintext.set(packet);
  }
  kp.send.seal(counter, plaintext, null, message, TRANSPORT_HEADER_SIZE);
  return message;
}
