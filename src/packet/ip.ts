/**
 * Just enough IP header reading for the WireGuard datapath: the addresses that pick a peer
 * (destination, outbound) or must belong to it (source, inbound), and the total length, with
 * which WireGuard strips the padding it adds to a decrypted packet. Anything malformed reads
 * as "not a packet" (null or -1) rather than throwing: these run on untrusted input.
 *
 * The checks are those that make the offsets safe to use: enough bytes for the fixed header,
 * version 4 or 6, an IPv4 header length of at least 20 bytes, and a total length that covers
 * the header and fits the buffer. Checksums and options are the inner stack's business.
 */

export const IPV4_MIN_HEADER_LENGTH = 20;
export const IPV6_HEADER_LENGTH = 40;

export const IPV4_SRC_OFFSET = 12;
export const IPV4_DST_OFFSET = 16;
export const IPV6_SRC_OFFSET = 8;
export const IPV6_DST_OFFSET = 24;

export interface IpHeader {
  version: 4 | 6;
  /** Where the source and destination addresses start; both are `addressLength` bytes. */
  srcOffset: number;
  dstOffset: number;
  addressLength: 4 | 16;
  /** IPv4: IHL × 4. IPv6: the 40-byte fixed header (extension headers are not walked). */
  headerLength: number;
  /** The packet's own idea of its length; bytes past it in the buffer are padding. */
  totalLength: number;
  /** IPv4 protocol, or IPv6 next header (which may name an extension header). */
  protocol: number;
}

/** The version nibble of the first byte (4 or 6 for IP), or 0 for an empty buffer. */
export function ipVersion(packet: Uint8Array): number {
  return packet.length === 0 ? 0 : packet[0]! >> 4;
}

/**
 * The total length an IPv4 or IPv6 header declares (IPv6: 40 + payload length), or -1 if the
 * header is malformed or claims more bytes than `packet` holds. `packet.subarray(0, n)` is then
 * the packet without padding. IPv6 jumbograms (payload length 0 plus an option) are read as
 * header-only packets, as in WireGuard.
 */
export function ipTotalLength(packet: Uint8Array): number {
  const size = packet.length;
  if (size === 0) return -1;
  const version = packet[0]! >> 4;
  if (version === 4) {
    if (size < IPV4_MIN_HEADER_LENGTH) return -1;
    const headerLength = (packet[0]! & 0x0f) * 4;
    const total = (packet[2]! << 8) | packet[3]!;
    if (headerLength < IPV4_MIN_HEADER_LENGTH || total < headerLength || total > size) return -1;
    return total;
  }
  if (version === 6) {
    if (size < IPV6_HEADER_LENGTH) return -1;
    const total = IPV6_HEADER_LENGTH + ((packet[4]! << 8) | packet[5]!);
    return total > size ? -1 : total;
  }
  return -1;
}

/** Reads an IPv4 or IPv6 header, or returns null if it is malformed (see ipTotalLength). Never throws. */
export function parseIpHeader(packet: Uint8Array): IpHeader | null {
  const totalLength = ipTotalLength(packet);
  if (totalLength < 0) return null;
  if (packet[0]! >> 4 === 4) {
    return {
      version: 4,
      srcOffset: IPV4_SRC_OFFSET,
      dstOffset: IPV4_DST_OFFSET,
      addressLength: 4,
      headerLength: (packet[0]! & 0x0f) * 4,
      totalLength,
      protocol: packet[9]!,
    };
  }
  return {
    version: 6,
    srcOffset: IPV6_SRC_OFFSET,
    dstOffset: IPV6_DST_OFFSET,
    addressLength: 16,
    headerLength: IPV6_HEADER_LENGTH,
    totalLength,
    protocol: packet[6]!,
  };
}
