/**
 * Transport headers for the filter's tests, to wrap with test/support/ip-packet.ts's ipv4() and
 * ipv6(), and a way to turn such a packet into a fragment. Checksums are left at zero: the filter
 * does not read them.
 */

export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

/** A 20-byte TCP header with these flags and no payload. */
export function tcpHeader(srcPort: number, dstPort: number, flags: number): Uint8Array {
  const h = new Uint8Array(20);
  writePorts(h, srcPort, dstPort);
  h[12] = 5 << 4; // data offset: five words
  h[13] = flags;
  return h;
}

/** An 8-byte UDP header and `payloadLength` zero bytes. */
export function udpDatagram(srcPort: number, dstPort: number, payloadLength = 4): Uint8Array {
  const d = new Uint8Array(8 + payloadLength);
  writePorts(d, srcPort, dstPort);
  d[4] = d.length >> 8;
  d[5] = d.length & 0xff;
  return d;
}

/**
 * An ICMP or ICMPv6 message: type, code 0, then the identifier and sequence of an echo, or for an
 * error the unused word followed by `quoted` (the start of the packet the error is about).
 */
export function icmpMessage(type: number, id: number, quoted: Uint8Array = new Uint8Array(4)): Uint8Array {
  const m = new Uint8Array(8 + quoted.length);
  m[0] = type;
  m[4] = id >> 8;
  m[5] = id & 0xff;
  m.set(quoted, 8);
  return m;
}

/**
 * The packet as a fragment at `offset` 8-byte units, with more to come if `more`. IPv4 sets the
 * header's fragment field; IPv6 gets a fragment header before the transport header.
 */
export function fragment(packet: Uint8Array, offset: number, more: boolean): Uint8Array {
  if (packet[0]! >> 4 === 4) {
    const out = packet.slice();
    const field = offset | (more ? 0x2000 : 0);
    out[6] = field >> 8;
    out[7] = field & 0xff;
    return out;
  }
  const out = new Uint8Array(packet.length + 8);
  out.set(packet.subarray(0, 40));
  out.set(packet.subarray(40), 48);
  const payloadLength = out.length - 40;
  out[4] = payloadLength >> 8;
  out[5] = payloadLength & 0xff;
  out[6] = 44;
  out[40] = packet[6]!; // the fragment header's next header: what the fragments carry
  const field = (offset << 3) | (more ? 1 : 0);
  out[42] = field >> 8;
  out[43] = field & 0xff;
  return out;
}

function writePorts(h: Uint8Array, srcPort: number, dstPort: number): void {
  h[0] = srcPort >> 8;
  h[1] = srcPort & 0xff;
  h[2] = dstPort >> 8;
  h[3] = dstPort & 0xff;
}
