/**
 * The fields the inbound filter decides on, read from an IPv4 or IPv6 packet: addresses (as
 * offsets, so they are read in place), the transport protocol past any IPv6 extension headers,
 * whether the packet is a later fragment, ports, TCP flags, and the ICMP type and identifier.
 *
 * One PacketFields is reused for every packet, so reading allocates nothing. Reading never
 * throws: anything that would put an offset outside the packet reads as malformed (false).
 */
import { ipTotalLength } from '../packet/ip.js';

export const ICMP = 1;
export const TCP = 6;
export const UDP = 17;
const ICMPV6 = 58;
const SCTP = 132;

// IPv6 extension headers walked to reach the transport header (RFC 8200 section 4).
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AUTHENTICATION = 51;
const DESTINATION_OPTIONS = 60;

export const TCP_SYN = 0x02;
export const TCP_ACK = 0x10;

export class PacketFields {
  version: 4 | 6 = 4;
  addressLength: 4 | 16 = 4;
  srcOffset = 0;
  dstOffset = 0;
  /** The transport protocol: IPv4's protocol, or IPv6's last next header. */
  protocol = 0;
  /** A fragment other than the first: it carries no transport header, so no ports or flags. */
  laterFragment = false;
  /** TCP, UDP and SCTP; 0 for other protocols and later fragments. */
  srcPort = 0;
  dstPort = 0;
  /** TCP flags (byte 13 of the header); 0 for other protocols and quoted packets. */
  tcpFlags = 0;
  /** ICMP or ICMPv6 (whichever belongs to the IP version) type and echo identifier; type -1 otherwise. */
  icmpType = -1;
  icmpId = 0;
  /** Where the transport header starts, and where the packet ends (its total length). */
  transportOffset = 0;
  end = 0;

  /** Reads a whole packet (bytes past its total length are padding). False if malformed. */
  read(packet: Uint8Array): boolean {
    const end = ipTotalLength(packet);
    return end >= 0 && this.parse(packet, 0, end, false);
  }

  /**
   * Reads the packet an ICMP error quotes, at `packet[start..end)`. A quote is the start of the
   * original packet (RFC 792 guarantees 8 bytes of its transport header, enough for ports and
   * the echo identifier), so its own length fields are not held against the bytes present.
   */
  readQuoted(packet: Uint8Array, start: number, end: number): boolean {
    return this.parse(packet, start, end, true);
  }

  /** Whether the packet is ICMP of its IP version (ICMPv4 in IPv6, or the reverse, is not). */
  get isIcmp(): boolean {
    return this.protocol === (this.version === 4 ? ICMP : ICMPV6);
  }

  private parse(p: Uint8Array, start: number, end: number, quoted: boolean): boolean {
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.icmpType = -1;
    this.icmpId = 0;
    if (start >= end) return false;
    const version = p[start]! >> 4;
    let offset: number;
    let protocol: number;
    let fragmentOffset = 0; // in 8-byte units, as both IP versions count it
    if (version === 4) {
      const headerLength = (p[start]! & 0x0f) * 4;
      if (headerLength < 20 || start + headerLength > end) return false;
      fragmentOffset = ((p[start + 6]! << 8) | p[start + 7]!) & 0x1fff;
      protocol = p[start + 9]!;
      offset = start + headerLength;
      this.version = 4;
      this.addressLength = 4;
      this.srcOffset = start + 12;
      this.dstOffset = start + 16;
    } else if (version === 6) {
      if (start + 40 > end) return false;
      protocol = p[start + 6]!;
      offset = start + 40;
      this.version = 6;
      this.addressLength = 16;
      this.srcOffset = start + 8;
      this.dstOffset = start + 24;
      // Each header is at least 8 bytes, so the walk ends within the packet's length.
      while (fragmentOffset === 0) {
        let length: number;
        if (protocol === HOP_BY_HOP || protocol === ROUTING || protocol === DESTINATION_OPTIONS) {
          if (offset + 8 > end) return false;
          length = (p[offset + 1]! + 1) * 8;
        } else if (protocol === AUTHENTICATION) {
          if (offset + 8 > end) return false;
          length = (p[offset + 1]! + 2) * 4;
        } else if (protocol === FRAGMENT) {
          if (offset + 8 > end) return false;
          length = 8;
          fragmentOffset = ((p[offset + 2]! << 8) | p[offset + 3]!) >> 3;
        } else {
          break;
        }
        protocol = p[offset]!;
        offset += length;
        if (offset > end) return false;
      }
    } else {
      return false;
    }
    this.protocol = protocol;
    this.laterFragment = fragmentOffset !== 0;
    this.transportOffset = offset;
    this.end = end;
    // RFC 1858: a later fragment at offset 8 could overwrite the TCP flags of the first one once
    // reassembled, turning a SYN the filter saw as a reply into a new connection.
    if (this.laterFragment) return !(protocol === TCP && fragmentOffset === 1);
    return this.readTransport(p, offset, end - offset, quoted);
  }

  /**
   * The transport header must be whole (the tiny-fragment rule of RFC 1858: a first fragment
   * too short for its ports and flags is refused), except in a quote, where 8 bytes are enough.
   */
  private readTransport(p: Uint8Array, at: number, available: number, quoted: boolean): boolean {
    const protocol = this.protocol;
    if (protocol === TCP || protocol === UDP || protocol === SCTP) {
      const needed = quoted || protocol === UDP ? 8 : protocol === TCP ? 20 : 12;
      if (available < needed) return false;
      this.srcPort = (p[at]! << 8) | p[at + 1]!;
      this.dstPort = (p[at + 2]! << 8) | p[at + 3]!;
      if (protocol === TCP && !quoted) this.tcpFlags = p[at + 13]!;
    } else if (this.isIcmp) {
      if (available < 8) return false;
      this.icmpType = p[at]!;
      this.icmpId = (p[at + 4]! << 8) | p[at + 5]!;
    }
    return true;
  }
}
