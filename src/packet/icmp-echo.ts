/**
 * ICMP and ICMPv6 echo packets, built and recognised whole (IP header included), for burrowd's own
 * ping: it sends an echo request into the tunnel as if the kernel had, and takes the matching
 * reply out of the tunnel before the kernel sees it.
 */
import { parseIpHeader } from './ip.js';
import { parseCidr } from './ip-text.js';

const ICMP = 1;
const ICMPV6 = 58;

function sum16(bytes: Uint8Array, start: number, end: number, acc = 0): number {
  for (let i = start; i < end; i += 2) acc += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return ~acc & 0xffff;
}

/** An echo request from `src` to `dst` (both v4 or both v6, as text) with `id`, `seq` and `payload`. */
export function echoRequest(
  src: string,
  dst: string,
  id: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  const s = parseCidr(src).addr;
  const d = parseCidr(dst).addr;
  if (s.length !== d.length) throw new Error(`${src} and ${dst} are not of one family`);
  const v6 = s.length === 16;
  const header = v6 ? 40 : 20;
  const icmpLength = 8 + payload.length;
  const p = new Uint8Array(header + icmpLength);
  const view = new DataView(p.buffer);
  if (v6) {
    p[0] = 0x60;
    view.setUint16(4, icmpLength);
    p[6] = ICMPV6;
    p[7] = 64;
    p.set(s, 8);
    p.set(d, 24);
  } else {
    p[0] = 0x45;
    view.setUint16(2, p.length);
    p[8] = 64;
    p[9] = ICMP;
    p.set(s, 12);
    p.set(d, 16);
    view.setUint16(10, fold(sum16(p, 0, 20)));
  }
  p[header] = v6 ? 128 : 8;
  view.setUint16(header + 4, id);
  view.setUint16(header + 6, seq);
  p.set(payload, header + 8);
  let acc = sum16(p, header, p.length);
  if (v6) acc = sum16(p, 8, 40, acc) + icmpLength + ICMPV6; // the pseudo-header
  view.setUint16(header + 2, fold(acc));
  return p;
}

/** The id and seq of an echo reply (ICMP type 0 or ICMPv6 type 129), or null for anything else. */
export function echoReply(packet: Uint8Array): { id: number; seq: number } | null {
  const ip = parseIpHeader(packet);
  if (ip === null) return null;
  const at = ip.headerLength;
  if (packet.length < at + 8) return null;
  const isReply =
    ip.version === 4
      ? ip.protocol === ICMP && packet[at] === 0
      : ip.protocol === ICMPV6 && packet[at] === 129;
  if (!isReply) return null;
  return { id: (packet[at + 4]! << 8) | packet[at + 5]!, seq: (packet[at + 6]! << 8) | packet[at + 7]! };
}
