import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import {
  COOKIE_REPLY_SIZE,
  INITIATION_SIZE,
  RESPONSE_SIZE,
  TRANSPORT_MIN_SIZE,
} from '../wireguard/constants.js';
import { classify } from '../wireguard/messages.js';
import { buildBindingError, buildBindingRequest, buildBindingSuccess } from './binding.js';
import { isStunPacket } from './detect.js';
import { MAGIC_COOKIE } from './message.js';

/** A WireGuard-shaped datagram: type, three zero bytes, then random bytes. */
function wireGuard(rng: Rng, type: number, size: number, index?: number): Uint8Array {
  const out = rng.bytes(size);
  out.set([type, 0, 0, 0]);
  if (index !== undefined) new DataView(out.buffer).setUint32(4, index);
  return out;
}

const WIREGUARD_SIZES: [type: number, size: number][] = [
  [1, INITIATION_SIZE],
  [2, RESPONSE_SIZE],
  [3, COOKIE_REPLY_SIZE],
  [4, TRANSPORT_MIN_SIZE],
  [4, TRANSPORT_MIN_SIZE + 1280],
];

describe('isStunPacket on a socket shared with WireGuard', () => {
  it('never takes a WireGuard message for STUN, even with the magic cookie where its index is', () => {
    const rng = new Rng(5389);
    for (const [type, size] of WIREGUARD_SIZES) {
      for (let i = 0; i < 1000; i++) {
        expect(isStunPacket(wireGuard(rng, type, size))).toBe(false);
        // One index in 2^32 equals the cookie; the zero length field still rules the message out.
        expect(isStunPacket(wireGuard(rng, type, size, MAGIC_COOKIE))).toBe(false);
      }
    }
  });

  it('takes what we build for STUN, and WireGuard takes none of it for its own', () => {
    const txid = new Uint8Array(12).fill(7);
    for (const message of [
      buildBindingRequest(txid),
      buildBindingRequest(txid, 'burrow'),
      buildBindingSuccess(txid, { host: '192.0.2.1', port: 41641 }),
      buildBindingSuccess(txid, { host: '2001:db8::1', port: 41641 }, 'burrow'),
      buildBindingError(txid, 420, 'Unknown Attribute', [3]),
    ]) {
      expect(isStunPacket(message)).toBe(true);
      expect(classify(message)).toBe('unknown-type');
    }
  });

  it('checks the leading bits, the cookie and the length, but not the body', () => {
    const request = buildBindingRequest(new Uint8Array(12));
    expect(isStunPacket(request.subarray(0, 19))).toBe(false);
    const withBits = request.slice();
    withBits[0] = 0x40;
    expect(isStunPacket(withBits)).toBe(false);
    const noCookie = request.slice();
    noCookie[4] = 0;
    expect(isStunPacket(noCookie)).toBe(false);
    expect(isStunPacket(new Uint8Array([...request, 0, 0, 0, 0]))).toBe(false);
    // A corrupted FINGERPRINT is still STUN: it is refused later, by the parser, with its reason.
    const corrupt = request.slice();
    corrupt[corrupt.length - 1]! ^= 1;
    expect(isStunPacket(corrupt)).toBe(true);
  });
});
