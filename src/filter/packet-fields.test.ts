import { describe, expect, it } from 'vitest';
import {
  ACK,
  fragment,
  icmpMessage,
  SYN,
  tcpHeader,
  udpDatagram,
} from '../../test/support/filter-packets.js';
import { ipv4, ipv6 } from '../../test/support/ip-packet.js';
import { PacketFields, TCP, UDP } from './packet-fields.js';

const A4 = '192.0.2.1';
const B4 = '198.51.100.2';
const A6 = '2001:db8::1';
const B6 = '2001:db8::2';

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const ESP = 50;
const AUTHENTICATION = 51;
const DESTINATION_OPTIONS = 60;

/** An IPv6 packet with these extension headers (type and length in bytes) before `transport`. */
function ipv6Chain(chain: readonly [number, number][], protocol: number, transport: Uint8Array): Uint8Array {
  const length = chain.reduce((n, [, l]) => n + l, 0);
  const payload = new Uint8Array(length + transport.length);
  let at = 0;
  chain.forEach(([type, l], i) => {
    payload[at] = chain[i + 1]?.[0] ?? protocol;
    payload[at + 1] = type === AUTHENTICATION ? l / 4 - 2 : l / 8 - 1;
    at += l;
  });
  payload.set(transport, at);
  return ipv6(A6, B6, payload, chain[0]?.[0] ?? protocol);
}

function read(packet: Uint8Array): PacketFields | null {
  const fields = new PacketFields();
  return fields.read(packet) ? fields : null;
}

describe('PacketFields', () => {
  it('reads an IPv4 TCP segment behind header options', () => {
    const packet = ipv4(A4, B4, new Uint8Array([1, 1, 1, 1, ...tcpHeader(1234, 22, SYN | ACK)]), TCP);
    packet[0] = 0x46;
    expect(read(packet)).toMatchObject({
      version: 4,
      srcOffset: 12,
      dstOffset: 16,
      protocol: TCP,
      transportOffset: 24,
      srcPort: 1234,
      dstPort: 22,
      tcpFlags: SYN | ACK,
      laterFragment: false,
    });
  });

  it('ignores padding past the total length, and holds the transport header within it', () => {
    const packet = ipv4(A4, B4, udpDatagram(53, 40000), UDP);
    const padded = new Uint8Array(packet.length + 10);
    padded.set(packet);
    expect(read(padded)).toMatchObject({ srcPort: 53, dstPort: 40000, end: packet.length });
    padded[3] = 24; // total length: the IP header and half a UDP header
    expect(read(padded)).toBeNull();
  });

  it('walks IPv6 extension headers to the transport header', () => {
    const chain: [number, number][] = [
      [HOP_BY_HOP, 8],
      [DESTINATION_OPTIONS, 16],
      [ROUTING, 8],
      [AUTHENTICATION, 16],
    ];
    expect(read(ipv6Chain(chain, TCP, tcpHeader(5000, 22, SYN)))).toMatchObject({
      version: 6,
      srcOffset: 8,
      dstOffset: 24,
      protocol: TCP,
      transportOffset: 88,
      dstPort: 22,
      tcpFlags: SYN,
    });
  });

  it('refuses an extension header that runs past the packet', () => {
    const packet = ipv6Chain([[HOP_BY_HOP, 8]], TCP, tcpHeader(5000, 22, SYN));
    packet[41] = 3; // 32 bytes, of 28 present
    expect(read(packet)).toBeNull();
  });

  it('reads the transport header of a first IPv6 fragment, and none of a later one', () => {
    const datagram = ipv6(A6, B6, udpDatagram(53, 40000), UDP);
    expect(read(fragment(datagram, 0, true))).toMatchObject({
      protocol: UDP,
      laterFragment: false,
      dstPort: 40000,
    });
    expect(read(fragment(datagram, 0, false))).toMatchObject({ protocol: UDP, laterFragment: false });
    expect(read(fragment(datagram, 3, false))).toMatchObject({
      protocol: UDP,
      laterFragment: true,
      dstPort: 0,
    });
    const behindOptions = ipv6Chain(
      [
        [HOP_BY_HOP, 8],
        [FRAGMENT, 8],
      ],
      UDP,
      new Uint8Array(8),
    );
    behindOptions[51] = 3 << 3;
    expect(read(behindOptions)).toMatchObject({ protocol: UDP, laterFragment: true });
  });

  it('refuses a later TCP fragment at offset 8 (RFC 1858), but not further on', () => {
    const segment = ipv4(A4, B4, tcpHeader(5000, 22, ACK), TCP);
    expect(read(fragment(segment, 1, false))).toBeNull();
    expect(read(fragment(segment, 2, false))).toMatchObject({ laterFragment: true });
    expect(read(fragment(ipv6(A6, B6, tcpHeader(5000, 22, ACK), TCP), 1, false))).toBeNull();
  });

  it('reads no ports for a protocol it cannot see into', () => {
    expect(read(ipv6(A6, B6, new Uint8Array(16).fill(0xff), ESP))).toMatchObject({
      protocol: ESP,
      dstPort: 0,
    });
  });

  it('reads ICMP fields only for the ICMP of the IP version', () => {
    expect(read(ipv6(A6, B6, icmpMessage(128, 0x1234), 58))).toMatchObject({
      isIcmp: true,
      icmpType: 128,
      icmpId: 0x1234,
    });
    expect(read(ipv4(A4, B4, icmpMessage(8, 7), 1))).toMatchObject({ isIcmp: true, icmpType: 8, icmpId: 7 });
    expect(read(ipv6(A6, B6, icmpMessage(8, 7), 1))).toMatchObject({ isIcmp: false, icmpType: -1 });
    expect(read(ipv4(A4, B4, new Uint8Array(4), 1))).toBeNull();
  });

  it('reads a quoted packet from its first 8 transport bytes, whatever its length fields say', () => {
    const quote = ipv4(A4, B4, tcpHeader(40000, 443, ACK), TCP).subarray(0, 28);
    const fields = new PacketFields();
    expect(fields.readQuoted(quote, 0, 28)).toBe(true);
    expect(fields).toMatchObject({ srcPort: 40000, dstPort: 443, tcpFlags: 0 });
    expect(fields.readQuoted(quote, 0, 27)).toBe(false);
    expect(fields.read(quote)).toBe(false);
  });

  it.each([
    ['empty', new Uint8Array(0)],
    ['IP version 5', new Uint8Array(40).fill(0x55)],
    [
      'an IPv4 header length below 20 bytes',
      (() => {
        const p = ipv4(A4, B4, udpDatagram(1, 2), UDP);
        p[0] = 0x44;
        return p;
      })(),
    ],
    ['an IPv6 header cut short', ipv6(A6, B6, udpDatagram(1, 2), UDP).subarray(0, 39)],
  ])('refuses %s', (_, packet) => {
    expect(read(packet)).toBeNull();
  });
});
