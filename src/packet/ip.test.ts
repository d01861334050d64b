import { describe, expect, it } from 'vitest';
import { prng } from '../../test/support/rng.js';
import {
  IPV4_DST_OFFSET,
  IPV4_SRC_OFFSET,
  IPV6_DST_OFFSET,
  IPV6_SRC_OFFSET,
  ipTotalLength,
  ipVersion,
  parseIpHeader,
} from './ip.js';

/** An IPv4 packet 192.0.2.1 -> 198.51.100.2 with `optionWords` words of options and `payload` bytes. */
function ipv4Packet(payload: number, optionWords = 0, padding = 0, protocol = 17): Uint8Array {
  const headerLength = 20 + 4 * optionWords;
  const total = headerLength + payload;
  const p = new Uint8Array(total + padding);
  p[0] = 0x40 | (headerLength / 4);
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[8] = 64;
  p[9] = protocol;
  p.set([192, 0, 2, 1], IPV4_SRC_OFFSET);
  p.set([198, 51, 100, 2], IPV4_DST_OFFSET);
  return p;
}

/** An IPv6 packet 2001:db8::1 -> 2001:db8::2 with `payload` bytes. */
function ipv6Packet(payload: number, padding = 0, nextHeader = 58): Uint8Array {
  const p = new Uint8Array(40 + payload + padding);
  p[0] = 0x60;
  p[4] = payload >> 8;
  p[5] = payload & 0xff;
  p[6] = nextHeader;
  p[7] = 64;
  p.set([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1], IPV6_SRC_OFFSET);
  p.set([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 2], IPV6_DST_OFFSET);
  return p;
}

describe('ipVersion', () => {
  it('reads the version nibble', () => {
    expect(ipVersion(ipv4Packet(0))).toBe(4);
    expect(ipVersion(ipv6Packet(0))).toBe(6);
    expect(ipVersion(Uint8Array.of(0xf0))).toBe(15);
    expect(ipVersion(new Uint8Array(0))).toBe(0);
  });
});

describe('parseIpHeader', () => {
  it('reads an IPv4 header', () => {
    const p = ipv4Packet(8, 0, 0, 6);
    expect(parseIpHeader(p)).toEqual({
      version: 4,
      srcOffset: 12,
      dstOffset: 16,
      addressLength: 4,
      headerLength: 20,
      totalLength: 28,
      protocol: 6,
    });
    expect([...p.subarray(IPV4_SRC_OFFSET, IPV4_SRC_OFFSET + 4)]).toEqual([192, 0, 2, 1]);
    expect([...p.subarray(IPV4_DST_OFFSET, IPV4_DST_OFFSET + 4)]).toEqual([198, 51, 100, 2]);
  });

  it('reads an IPv4 header with options', () => {
    expect(parseIpHeader(ipv4Packet(0, 10))).toMatchObject({ headerLength: 60, totalLength: 60 });
  });

  it('reads an IPv6 header', () => {
    const p = ipv6Packet(8, 0, 58);
    expect(parseIpHeader(p)).toEqual({
      version: 6,
      srcOffset: 8,
      dstOffset: 24,
      addressLength: 16,
      headerLength: 40,
      totalLength: 48,
      protocol: 58,
    });
    expect(p[IPV6_DST_OFFSET + 15]).toBe(2);
  });

  it('reports the declared length, so padding can be stripped', () => {
    // WireGuard pads plaintext to a multiple of 16; the inner header says where the packet ends.
    const v4 = ipv4Packet(13, 0, 15);
    expect(v4.length).toBe(48);
    expect(ipTotalLength(v4)).toBe(33);
    expect(parseIpHeader(v4)?.totalLength).toBe(33);
    const v6 = ipv6Packet(1, 7);
    expect(ipTotalLength(v6)).toBe(41);
  });

  it.each([
    ['an empty buffer', new Uint8Array(0)],
    ['a lone version byte', Uint8Array.of(0x45)],
    ['a truncated IPv4 header', ipv4Packet(0).subarray(0, 19)],
    ['a truncated IPv6 header', ipv6Packet(0).subarray(0, 39)],
    ['version 0', new Uint8Array(60)],
    ['version 5', Uint8Array.from(ipv4Packet(0), (b, i) => (i === 0 ? 0x55 : b))],
    ['IHL 4', Uint8Array.from(ipv4Packet(0), (b, i) => (i === 0 ? 0x44 : b))],
    ['IHL 0', Uint8Array.from(ipv4Packet(0), (b, i) => (i === 0 ? 0x40 : b))],
    ['IPv4 total length past the buffer', ipv4Packet(10).subarray(0, 29)],
    ['IPv4 total length below the header', Uint8Array.from(ipv4Packet(0), (b, i) => (i === 3 ? 19 : b))],
    ['IPv4 total length below the options', Uint8Array.from(ipv4Packet(0, 1), (b, i) => (i === 3 ? 20 : b))],
    ['IPv4 IHL past the buffer', Uint8Array.from(ipv4Packet(0), (b, i) => (i === 0 ? 0x46 : b))],
    ['IPv6 payload past the buffer', ipv6Packet(10).subarray(0, 49)],
  ])('rejects %s', (_, packet) => {
    expect(parseIpHeader(packet)).toBe(null);
    expect(ipTotalLength(packet)).toBe(-1);
  });

  it('accepts the extremes of the length fields', () => {
    expect(parseIpHeader(ipv4Packet(65535 - 60, 10))?.totalLength).toBe(65535);
    expect(parseIpHeader(ipv6Packet(65535))?.totalLength).toBe(65575);
    expect(parseIpHeader(ipv6Packet(0))?.totalLength).toBe(40);
  });
});

describe('parseIpHeader fuzzing', () => {
  /** The rule stated independently, to compare verdicts against. */
  function wellFormed(p: Uint8Array): boolean {
    if (p.length >= 20 && p[0]! >> 4 === 4) {
      const ihl = (p[0]! & 15) * 4;
      const total = p[2]! * 256 + p[3]!;
      return ihl >= 20 && ihl <= total && total <= p.length;
    }
    if (p.length >= 40 && p[0]! >> 4 === 6) return 40 + p[4]! * 256 + p[5]! <= p.length;
    return false;
  }

  it('never throws on 100,000 random and mutated buffers, and stays self-consistent', () => {
    const random = prng(0x1f);
    const int = (n: number) => Math.floor(random() * n);
    const problems: string[] = [];
    let parsed = 0;
    for (let i = 0; i < 100_000; i++) {
      let p: Uint8Array;
      const kind = i % 4;
      if (kind === 0) {
        p = Uint8Array.from({ length: int(80) }, () => int(256));
      } else {
        // Start from a valid packet, then damage it: flip bytes, truncate, or extend.
        const base = kind === 1 ? ipv4Packet(int(60), int(11), int(16)) : ipv6Packet(int(60), int(16));
        p = base;
        for (let flips = int(4); flips > 0; flips--) {
          const at = random() < 0.7 ? int(8) : int(p.length); // the length fields live up front
          p[at] = int(256);
        }
        if (random() < 0.3) p = p.subarray(0, int(p.length + 1));
        else if (random() < 0.2) p = Uint8Array.from([...p, ...new Array(int(20)).fill(0)]);
      }

      let header: ReturnType<typeof parseIpHeader>;
      let total: number;
      try {
        header = parseIpHeader(p);
        total = ipTotalLength(p);
      } catch (error) {
        problems.push(`threw ${error} on ${[...p]}`);
        continue;
      }
      if ((header !== null) !== wellFormed(p)) problems.push(`verdict ${header !== null} on ${[...p]}`);
      if (header === null) {
        if (total !== -1) problems.push(`ipTotalLength ${total} for an unparsable ${[...p]}`);
        continue;
      }
      parsed++;
      const a = header.addressLength;
      const consistent =
        header.version === ipVersion(p) &&
        total === header.totalLength &&
        header.headerLength <= header.totalLength &&
        header.totalLength <= p.length &&
        a === (header.version === 4 ? 4 : 16) &&
        header.srcOffset + a <= header.headerLength &&
        header.dstOffset + a <= header.headerLength &&
        header.protocol >= 0 &&
        header.protocol <= 255;
      if (!consistent) problems.push(`inconsistent ${JSON.stringify(header)} for ${[...p]}`);
    }
    expect(problems.slice(0, 3)).toEqual([]);
    // Mutation must leave plenty of valid packets, or the consistency checks test nothing.
    expect(parsed).toBeGreaterThan(20_000);
  });
});
