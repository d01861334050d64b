import { describe, expect, it } from 'vitest';
import { echoReply, echoRequest } from './icmp-echo.js';

/** The Internet checksum over bytes (plus an optional sum), 0 when the packet's checksum is right. */
function verify(bytes: Uint8Array, acc = 0): number {
  for (let i = 0; i < bytes.length; i += 2) acc += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return ~acc & 0xffff;
}

describe('ICMP echo', () => {
  it('builds IPv4 requests with valid header and ICMP checksums', () => {
    const p = echoRequest('100.64.0.1', '100.64.0.2', 0x1234, 7, new Uint8Array([1, 2, 3]));
    expect(verify(p.subarray(0, 20))).toBe(0);
    expect(verify(p.subarray(20))).toBe(0);
    expect([p[9], p[20]]).toEqual([1, 8]);
  });

  it('builds ICMPv6 requests whose checksum covers the pseudo-header', () => {
    const p = echoRequest('fd00::1', 'fd00::2', 1, 2, new Uint8Array(5));
    let pseudo = 0;
    for (let i = 8; i < 40; i += 2) pseudo += (p[i]! << 8) | p[i + 1]!;
    pseudo += p.length - 40 + 58;
    expect(verify(p.subarray(40), pseudo)).toBe(0);
    expect([p[6], p[40]]).toEqual([58, 128]);
  });

  it('recognises replies, and nothing else', () => {
    const request = echoRequest('100.64.0.1', '100.64.0.2', 9, 3, new Uint8Array(4));
    expect(echoReply(request)).toBeNull();
    const reply = request.slice();
    reply[20] = 0;
    expect(echoReply(reply)).toEqual({ id: 9, seq: 3 });
    const v6 = echoRequest('fd00::1', 'fd00::2', 4, 5, new Uint8Array(0));
    v6[40] = 129;
    expect(echoReply(v6)).toEqual({ id: 4, seq: 5 });
    expect(echoReply(new Uint8Array([0x45, 0]))).toBeNull();
  });
});
