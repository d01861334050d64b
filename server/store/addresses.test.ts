import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { deviceIpv6, formatIpv4, isReserved, parseIpv4, parseIpv4Pool, randomUla } from './addresses.js';

describe('IPv4 arithmetic', () => {
  it('round-trips addresses through integers', () => {
    for (const a of ['0.0.0.0', '100.64.0.1', '100.127.255.254', '255.255.255.255']) {
      expect(formatIpv4(parseIpv4(a))).toBe(a);
    }
    expect(parseIpv4('100.64.0.1')).toBe(0x64400001);
  });

  it('refuses malformed addresses and prefixes', () => {
    for (const bad of ['100.64.0', '100.64.0.256', '1.2.3.4.5', ' 1.2.3.4', 'a.b.c.d']) {
      expect(() => parseIpv4(bad)).toThrow();
    }
    for (const bad of ['100.64.0.1/10', '100.64.0.0/33', '100.64.0.0', '100.64.0.0/31']) {
      expect(() => parseIpv4Pool(bad)).toThrow();
    }
  });

  it('reserves quad-100, the ChromeOS range, the pool ends and every .0/.255', () => {
    const pool = parseIpv4Pool('100.64.0.0/10');
    const reserved = (a: string) => isReserved(pool, parseIpv4(a));
    for (const a of ['100.64.0.0', '100.127.255.255', '100.100.100.100', '100.100.100.1', '100.115.92.5']) {
      expect(reserved(a), a).toBe(true);
    }
    for (const a of ['100.64.1.0', '100.64.1.255', '100.90.7.0']) expect(reserved(a), a).toBe(true);
    for (const a of ['100.64.0.1', '100.64.0.254', '100.100.99.1', '100.115.94.1', '100.127.255.254']) {
      expect(reserved(a), a).toBe(false);
    }
  });
});

describe('IPv6 ULAs', () => {
  it('makes random fd00::/8 /48s', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const ula = randomUla();
      expect(ula).toMatch(/^fd[0-9a-f]{2}[0-9a-f:]*::\/48$/);
      expect(isIPv6(ula.slice(0, -3))).toBe(true);
      seen.add(ula);
    }
    expect(seen.size).toBe(200);
  });

  it('puts the IPv4 address in the last 32 bits, in RFC 5952 form', () => {
    expect(deviceIpv6('fd12:3456:789a::/48', parseIpv4('100.64.0.5'))).toBe('fd12:3456:789a::6440:5');
    // Zero groups inside the prefix join the compressed run.
    expect(deviceIpv6('fd12::/48', parseIpv4('100.64.1.2'))).toBe('fd12::6440:102');
    expect(deviceIpv6('fd12:0:1::/48', parseIpv4('100.127.255.254'))).toBe('fd12:0:1::647f:fffe');
    expect(isIPv6(deviceIpv6(randomUla(), parseIpv4('100.64.0.1')))).toBe(true);
  });
});
