/**
 * Telling STUN from WireGuard on one UDP socket. A device sends its binding requests from its
 * WireGuard socket (so the mapping it learns is the one peers must use), and the answers arrive
 * there among WireGuard messages.
 *
 * A WireGuard message starts with its type (1 to 4) and three zero bytes, so read as STUN its
 * leading bits are zero (which alone tells nothing) and its length field (bytes 2-3) is 0, which
 * claims a 20-byte datagram. No WireGuard message is that short: the smallest, a keepalive, is 32
 * bytes. So the length check alone rules WireGuard out, whatever bytes 4-7 hold; the magic cookie
 * check is not what guarantees it, as bytes 4-7 of a WireGuard message are a random sender or
 * receiver index that equals the cookie once in 2^32.
 */

import { checkHeader } from './message.js';

/** Whether `bytes` has a STUN header that fits the datagram; the body is not looked at. */
export function isStunPacket(bytes: Uint8Array): boolean {
  return checkHeader(bytes) === null;
}
