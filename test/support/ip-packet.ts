/** Builds minimal IPv4/IPv6 UDP packets for tests that need real-looking tunnel traffic. */

function ipv4Checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += (header[i]! << 8) | header[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ipv4(src: string, dst: string, payload: Uint8Array, protocol = 17): Uint8Array {
  const packet = new Uint8Array(20 + payload.length);
  const view = new DataView(packet.buffer);
  packet[0] = 0x45;
  view.setUint16(2, packet.length);
  packet[8] = 64;
  packet[9] = protocol;
  packet.set(src.split('.').map(Number), 12);
  packet.set(dst.split('.').map(Number), 16);
  view.setUint16(10, ipv4Checksum(packet.subarray(0, 20)));
  packet.set(payload, 20);
  return packet;
}

function v6bytes(addr: string): Uint8Array {
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const h = parse(head);
  const t = parse(tail);
  const groups = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

export function ipv6(src: string, dst: string, payload: Uint8Array, nextHeader = 17): Uint8Array {
  const packet = new Uint8Array(40 + payload.length);
  const view = new DataView(packet.buffer);
  packet[0] = 0x60;
  view.setUint16(4, payload.length);
  packet[6] = nextHeader;
  packet[7] = 64;
  packet.set(v6bytes(src), 8);
  packet.set(v6bytes(dst), 24);
  packet.set(payload, 40);
  return packet;
}

/** A payload that carries a sequence number, so receivers can check order and completeness. */
export function seqPayload(seq: number, size = 64): Uint8Array {
  const p = new Uint8Array(Math.max(size, 4));
  new DataView(p.buffer).setUint32(0, seq);
  return p;
}

export function readSeq(packet: Uint8Array): number {
  const offset = packet[0]! >> 4 === 6 ? 40 : 20;
  return new DataView(packet.buffer, packet.byteOffset + offset).getUint32(0);
}
