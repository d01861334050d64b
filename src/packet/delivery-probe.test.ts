import { describe, expect, it } from 'vitest';
import { ipv4, ipv6 } from '../../test/support/ip-packet.js';
import { Rng } from '../../test/support/rng.js';
import { type DeliveryFlow, deliveryAnswer, deliveryProbe, deliveryReset } from './delivery-probe.js';

const TCP4: DeliveryFlow = {
  protocol: 'tcp',
  src: '100.64.0.1',
  dst: '100.64.0.2',
  srcPort: 40001,
  dstPort: 80,
};
const UDP6: DeliveryFlow = { protocol: 'udp', src: 'fd7a::1', dst: 'fd7a::2', srcPort: 40002, dstPort: 53 };

function segment(srcPort: number, dstPort: number, flags: number, seq: number, ack: number): Uint8Array {
  const h = new Uint8Array(20);
  const v = new DataView(h.buffer);
  v.setUint16(0, srcPort);
  v.setUint16(2, dstPort);
  v.setUint32(4, seq);
  v.setUint32(8, ack);
  h[12] = 0x50;
  h[13] = flags;
  return h;
}

/** The one's complement sum over the pseudo-header and transport: 0xffff for a right checksum. */
function transportSum(p: Uint8Array): number {
  const v6 = p[0]! >> 4 === 6;
  const header = v6 ? 40 : 20;
  const t = p.subarray(header);
  let acc = 0;
  const add = (b: Uint8Array) => {
    for (let i = 0; i < b.length; i += 2) acc += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
  };
  add(v6 ? p.subarray(8, 40) : p.subarray(12, 20));
  acc += (v6 ? p[6]! : p[9]!) + t.length;
  add(t);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

describe('delivery probes', () => {
  it('builds a TCP SYN and a UDP datagram with right checksums', () => {
    const syn = deliveryProbe(TCP4, 12345);
    expect(syn[9]).toBe(6);
    expect(syn[20 + 13]).toBe(0x02);
    expect(transportSum(syn)).toBe(0xffff);
    const udp = deliveryProbe(UDP6, 0);
    expect(udp[6]).toBe(17);
    expect(transportSum(udp)).toBe(0xffff);
  });

  it('reads a SYN-ACK as a listener and answers it with an RST carrying its ack', () => {
    const synAck = ipv4(TCP4.dst, TCP4.src, segment(80, 40001, 0x12, 777, 12346), 6);
    const answer = deliveryAnswer(synAck, TCP4);
    expect(answer).toEqual({ listening: true, peerSeq: 777, ack: 12346 });
    const rst = deliveryReset(TCP4, answer!);
    expect(rst[20 + 13]).toBe(0x04);
    expect(new DataView(rst.buffer).getUint32(24)).toBe(12346);
    expect(transportSum(rst)).toBe(0xffff);
  });

  it('reads an RST as nothing listening', () => {
    const rst = ipv4(TCP4.dst, TCP4.src, segment(80, 40001, 0x14, 0, 12346), 6);
    expect(deliveryAnswer(rst, TCP4)?.listening).toBe(false);
  });

  it('reads an ICMPv6 port unreachable quoting our datagram as nothing listening', () => {
    const ours = deliveryProbe(UDP6, 0);
    const icmp = new Uint8Array(8 + ours.length);
    icmp[0] = 1;
    icmp[1] = 4;
    icmp.set(ours, 8);
    expect(deliveryAnswer(ipv6(UDP6.dst, UDP6.src, icmp, 58), UDP6)?.listening).toBe(false);
    // Another code (administratively prohibited), or a quote of another datagram: not an answer.
    icmp[1] = 1;
    expect(deliveryAnswer(ipv6(UDP6.dst, UDP6.src, icmp, 58), UDP6)).toBeNull();
    icmp[1] = 4;
    expect(deliveryAnswer(ipv6(UDP6.dst, UDP6.src, icmp, 58), { ...UDP6, srcPort: 1 })).toBeNull();
  });

  it('ignores segments of other flows, other hosts and other flags', () => {
    expect(deliveryAnswer(ipv4(TCP4.dst, TCP4.src, segment(81, 40001, 0x12, 1, 1), 6), TCP4)).toBeNull();
    expect(deliveryAnswer(ipv4('100.64.0.3', TCP4.src, segment(80, 40001, 0x12, 1, 1), 6), TCP4)).toBeNull();
    expect(deliveryAnswer(ipv4(TCP4.dst, TCP4.src, segment(80, 40001, 0x10, 1, 1), 6), TCP4)).toBeNull();
    expect(deliveryAnswer(ipv4(TCP4.dst, TCP4.src, segment(80, 40001, 0x12, 1, 1), 17), TCP4)).toBeNull();
  });

  it('never throws on random or truncated bytes (fuzz)', () => {
    const rng = new Rng(18);
    const seeds = [
      ipv4(TCP4.dst, TCP4.src, segment(80, 40001, 0x12, 1, 1), 6),
      ipv6(UDP6.dst, UDP6.src, new Uint8Array([1, 4, 0, 0, 0, 0, 0, 0, ...deliveryProbe(UDP6, 0)]), 58),
    ];
    for (let i = 0; i < 20000; i++) {
      const seed = seeds[i % 2]!;
      const p = seed.slice(0, rng.u32() % (seed.length + 1));
      for (let k = rng.u32() % 4; k > 0; k--) if (p.length > 0) p[rng.u32() % p.length] = rng.u32() & 0xff;
      expect(() => deliveryAnswer(p, TCP4)).not.toThrow();
      expect(() => deliveryAnswer(p, UDP6)).not.toThrow();
    }
  });
});
