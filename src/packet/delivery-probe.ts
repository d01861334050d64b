/**
 * The packets of `burrow trace`'s last stage ("does anything listen on the peer's port?"), built
 * and recognised whole (IP header included): burrowd sends them into the tunnel as if its kernel
 * had, and takes the answers out of the tunnel before its kernel sees them.
 *
 * TCP: a SYN to the port; a SYN-ACK means something listens, an RST that nothing does. burrowd
 * answers a SYN-ACK with an RST, so the peer's socket does not wait for a connection that never
 * comes. UDP: an empty datagram; an ICMP port unreachable means nothing listens, silence means the
 * port is open or a filter drops it (UDP cannot tell the two apart).
 *
 * Nothing here does I/O: packets in, packets and answers out. Parsing never throws: the answers
 * come from the network.
 */
import { parseIpHeader } from './ip.js';
import { parseCidr } from './ip-text.js';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

/** One probe's addresses and ports, from our side: `src`:`srcPort` is us, `dst`:`dstPort` the peer. */
export interface DeliveryFlow {
  readonly protocol: 'tcp' | 'udp';
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
}

/** What came back for a probe: a listener (SYN-ACK), none (RST, port unreachable). */
export interface DeliveryAnswer {
  readonly listening: boolean;
  /** For a SYN-ACK: the peer's sequence number, which our RST acknowledges. */
  readonly peerSeq: number;
  /** For a SYN-ACK: the acknowledgement number, the sequence number our RST must carry. */
  readonly ack: number;
}

/** The TCP SYN (with sequence number `seq`) or empty UDP datagram of `flow`. */
export function deliveryProbe(flow: DeliveryFlow, seq: number): Uint8Array {
  if (flow.protocol === 'udp') return ipPacket(flow.src, flow.dst, UDP, udpHeader(flow));
  return ipPacket(flow.src, flow.dst, TCP, tcpSegment(flow, seq, 0, SYN));
}

/** The RST that ends a connection the peer accepted (answering its SYN-ACK `answer`). */
export function deliveryReset(flow: DeliveryFlow, answer: DeliveryAnswer): Uint8Array {
  return ipPacket(flow.src, flow.dst, TCP, tcpSegment(flow, answer.ack, 0, RST));
}

/**
 * The answer to `flow`'s probe that `packet` (decrypted from the peer, not yet filtered) carries,
 * or null if it is not one: a SYN-ACK or RST from the peer's port to ours, or an ICMP port
 * unreachable quoting our datagram. The caller checks the addresses' owner (the peer) itself.
 */
export function deliveryAnswer(packet: Uint8Array, flow: DeliveryFlow): DeliveryAnswer | null {
  const ip = parseIpHeader(packet);
  if (ip === null || !addressesAre(packet, ip, flow.dst, flow.src)) return null;
  const at = ip.headerLength;
  if (flow.protocol === 'tcp') {
    if (ip.protocol !== TCP || ip.totalLength < at + 20) return null;
    if (!portsAre(packet, at, flow.dstPort, flow.srcPort)) return null;
    const flags = packet[at + 13]!;
    const peerSeq = u32(packet, at + 4);
    const ack = u32(packet, at + 8);
    if ((flags & (SYN | ACK | RST | FIN)) === (SYN | ACK)) return { listening: true, peerSeq, ack };
    if ((flags & RST) !== 0) return { listening: false, peerSeq, ack };
    return null;
  }
  const icmp = ip.version === 4 ? ICMP : ICMPV6;
  if (ip.protocol !== icmp || ip.totalLength < at + 8) return null;
  const unreachable =
    ip.version === 4 ? packet[at] === 3 && packet[at + 1] === 3 : packet[at] === 1 && packet[at + 1] === 4;
  if (!unreachable) return null;
  // The quoted packet: our datagram, from us to the peer's port.
  const quoted = packet.subarray(at + 8, ip.totalLength);
  const inner = parseQuoted(quoted);
  if (inner === null || inner.protocol !== UDP || !addressesAre(quoted, inner, flow.src, flow.dst))
    return null;
  if (quoted.length < inner.headerLength + 4) return null;
  if (!portsAre(quoted, inner.headerLength, flow.srcPort, flow.dstPort)) return null;
  return { listening: false, peerSeq: 0, ack: 0 };
}

/** A quoted packet is cut short: its header must be whole, its total length may exceed what is there. */
function parseQuoted(quoted: Uint8Array) {
  if (quoted.length < 20) return null;
  const version = quoted[0]! >> 4;
  if (version === 4) {
    const headerLength = (quoted[0]! & 0x0f) * 4;
    if (headerLength < 20 || quoted.length < headerLength) return null;
    return {
      version: 4 as const,
      srcOffset: 12,
      dstOffset: 16,
      addressLength: 4,
      headerLength,
      protocol: quoted[9]!,
    };
  }
  if (version !== 6 || quoted.length < 40) return null;
  return {
    version: 6 as const,
    srcOffset: 8,
    dstOffset: 24,
    addressLength: 16,
    headerLength: 40,
    protocol: quoted[6]!,
  };
}

function addressesAre(
  packet: Uint8Array,
  ip: { srcOffset: number; dstOffset: number; addressLength: number },
  src: string,
  dst: string,
): boolean {
  const s = parseCidr(src).addr;
  const d = parseCidr(dst).addr;
  if (s.length !== ip.addressLength || d.length !== ip.addressLength) return false;
  for (let i = 0; i < s.length; i++) {
    if (packet[ip.srcOffset + i] !== s[i] || packet[ip.dstOffset + i] !== d[i]) return false;
  }
  return true;
}

function portsAre(packet: Uint8Array, at: number, src: number, dst: number): boolean {
  return ((packet[at]! << 8) | packet[at + 1]!) === src && ((packet[at + 2]! << 8) | packet[at + 3]!) === dst;
}

function u32(p: Uint8Array, at: number): number {
  return ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
}

function tcpSegment(flow: DeliveryFlow, seq: number, ack: number, flags: number): Uint8Array {
  const h = new Uint8Array(20);
  const view = new DataView(h.buffer);
  view.setUint16(0, flow.srcPort);
  view.setUint16(2, flow.dstPort);
  view.setUint32(4, seq >>> 0);
  view.setUint32(8, ack >>> 0);
  h[12] = 5 << 4;
  h[13] = flags;
  view.setUint16(14, flags === RST ? 0 : 64240);
  return h;
}

function udpHeader(flow: DeliveryFlow): Uint8Array {
  const h = new Uint8Array(8);
  const view = new DataView(h.buffer);
  view.setUint16(0, flow.srcPort);
  view.setUint16(2, flow.dstPort);
  view.setUint16(4, 8);
  return h;
}

function sum16(bytes: Uint8Array, acc = 0): number {
  for (let i = 0; i < bytes.length; i += 2)
    acc += (bytes[i]! << 8) | (i + 1 < bytes.length ? bytes[i + 1]! : 0);
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return ~acc & 0xffff;
}

/** An IP packet around `transport`, whose checksum (at 16 for TCP, 6 for UDP) it fills in. */
function ipPacket(src: string, dst: string, protocol: number, transport: Uint8Array): Uint8Array {
  const s = parseCidr(src).addr;
  const d = parseCidr(dst).addr;
  if (s.length !== d.length) throw new RangeError(`${src} and ${dst} are not of one family`);
  const header = s.length === 4 ? 20 : 40;
  const p = new Uint8Array(header + transport.length);
  const view = new DataView(p.buffer);
  if (header === 20) {
    p[0] = 0x45;
    view.setUint16(2, p.length);
    p[8] = 64;
    p[9] = protocol;
    p.set(s, 12);
    p.set(d, 16);
    view.setUint16(10, fold(sum16(p.subarray(0, 20))));
  } else {
    p[0] = 0x60;
    view.setUint16(4, transport.length);
    p[6] = protocol;
    p[7] = 64;
    p.set(s, 8);
    p.set(d, 24);
  }
  p.set(transport, header);
  const pseudo = sum16(s, sum16(d)) + protocol + transport.length;
  const sum = fold(sum16(transport, pseudo));
  view.setUint16(header + (protocol === TCP ? 16 : 6), protocol === UDP && sum === 0 ? 0xffff : sum);
  return p;
}
