/**
 * Trace probes as IP packets inside the tunnel, modelled on Tailscale's TSMP: a probe message
 * (probe-message.ts) is the whole payload of an IPv4 or IPv6 packet of IP protocol 99, from the
 * asker's tunnel address to the peer's.
 *
 * Why inside the tunnel: WireGuard authenticates every packet it decrypts, and cryptokey routing
 * drops one whose inner source is not among the sending peer's allowed IPs, so the source address
 * of a probe names the device that sent it; nobody outside the session can forge or read one.
 *
 * Why protocol 99: IANA's "any private encryption scheme", a number no real traffic uses (Tailscale
 * took it for TSMP for the same reason), so a probe is never mistaken for a user's packet. burrowd
 * takes probes out before its packet filter and never hands one to the kernel (which would answer
 * "protocol unreachable"); an older burrowd without trace support drops them in its filter, unless
 * a rule admits every protocol, and then its kernel refuses them: either way the asker hears
 * nothing and times out.
 *
 * The packet is strict: IPv4 without options or fragmentation and with a correct header checksum,
 * IPv6 with protocol 99 as its first next header (no extension headers). Bytes past the IP total
 * length are WireGuard's padding and are ignored.
 */
import { ipTotalLength } from '../packet/ip.js';
import { formatAddr, parseCidr } from '../packet/ip-text.js';
import { encodeProbeMessage, ProbeError, type ProbeMessage, parseProbeMessage } from './probe-message.js';

export const PROBE_IP_PROTOCOL = 99;
const HOP_LIMIT = 64;

/** Whether a decrypted packet is a probe, for burrowd to take it out before its filter. Never throws. */
export function isProbePacket(packet: Uint8Array): boolean {
  const version = packet.length === 0 ? 0 : packet[0]! >> 4;
  if (version === 4) return packet.length >= 20 && packet[9] === PROBE_IP_PROTOCOL;
  if (version === 6) return packet.length >= 40 && packet[6] === PROBE_IP_PROTOCOL;
  return false;
}

export interface ProbePacket {
  /** The tunnel addresses it travels between, as text (IPv6 as RFC 5952). */
  readonly src: string;
  readonly dst: string;
  readonly message: ProbeMessage;
}

/** The IP packet carrying `message` from `src` to `dst` (addresses of one family, as text). */
export function encodeProbePacket(src: string, dst: string, message: ProbeMessage): Uint8Array {
  const s = parseCidr(src).addr;
  const d = parseCidr(dst).addr;
  if (src.includes('/') || dst.includes('/') || s.length !== d.length) {
    throw new RangeError(`${src} and ${dst} must be two addresses of one family`);
  }
  const body = encodeProbeMessage(message);
  const header = s.length === 4 ? 20 : 40;
  const p = new Uint8Array(header + body.length);
  if (header === 20) {
    p[0] = 0x45;
    p[2] = p.length >>> 8;
    p[3] = p.length & 0xff;
    p[8] = HOP_LIMIT;
    p[9] = PROBE_IP_PROTOCOL;
    p.set(s, 12);
    p.set(d, 16);
    const sum = headerChecksum(p);
    p[10] = sum >>> 8;
    p[11] = sum & 0xff;
  } else {
    p[0] = 0x60;
    p[4] = body.length >>> 8;
    p[5] = body.length & 0xff;
    p[6] = PROBE_IP_PROTOCOL;
    p[7] = HOP_LIMIT;
    p.set(s, 8);
    p.set(d, 24);
  }
  p.set(body, header);
  return p;
}

/** Parses a probe packet. Throws ProbeError (naming the bad field) and nothing else. */
export function parseProbePacket(packet: Uint8Array): ProbePacket {
  const total = ipTotalLength(packet);
  if (total < 0) throw new ProbeError('ip-header', 'not a whole IPv4 or IPv6 packet');
  const version = packet[0]! >> 4;
  let header: number;
  if (version === 4) {
    if ((packet[0]! & 0x0f) !== 5) throw new ProbeError('ip-header', 'IPv4 options');
    if ((((packet[6]! << 8) | packet[7]!) & 0x3fff) !== 0) throw new ProbeError('ip-header', 'a fragment');
    if (packet[9] !== PROBE_IP_PROTOCOL) throw new ProbeError('ip-header', `protocol ${packet[9]}`);
    if (headerChecksum(packet) !== 0) throw new ProbeError('ip-header', 'bad IPv4 header checksum');
    header = 20;
  } else {
    if (packet[6] !== PROBE_IP_PROTOCOL) throw new ProbeError('ip-header', `next header ${packet[6]}`);
    header = 40;
  }
  const length = header === 20 ? 4 : 16;
  const srcAt = header === 20 ? 12 : 8;
  return {
    src: formatAddr(packet.subarray(srcAt, srcAt + length)),
    dst: formatAddr(packet.subarray(srcAt + length, srcAt + 2 * length)),
    message: parseProbeMessage(packet.subarray(header, total)),
  };
}

/**
 * The one's complement sum of the IPv4 header's 20 bytes, complemented: with the checksum field
 * zero it is the checksum to write there, and with the field written right it is 0.
 */
function headerChecksum(p: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
