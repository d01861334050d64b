import { describe, expect, it } from 'vitest';
import { ClientAddresses, clientKey, displayAddress } from './client-address.js';

describe('client addresses', () => {
  it('count IPv4 as themselves, IPv4-mapped IPv6 as IPv4, and IPv6 by its /64', () => {
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::99')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });

  it('are shown as people write them', () => {
    expect(displayAddress('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(displayAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(displayAddress(undefined)).toBe('');
  });
});

describe('client addresses behind a reverse proxy', () => {
  const request = (peer: string, xff?: string | string[]) =>
    ({
      socket: { remoteAddress: peer },
      headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
    }) as never;

  it('believe X-Forwarded-For only from a trusted proxy, taking its right-most untrusted entry', () => {
    const addresses = new ClientAddresses();
    expect(addresses.of(request('198.51.100.7', '10.0.0.1'))).toBe('198.51.100.7');
    expect(addresses.of(request('127.0.0.1', '203.0.113.5'))).toBe('203.0.113.5');
    expect(addresses.of(request('::ffff:127.0.0.1', '203.0.113.5'))).toBe('203.0.113.5');
    expect(addresses.of(request('::1', 'spoofed-by-client, 1.2.3.4, 203.0.113.5'))).toBe('203.0.113.5');
    expect(addresses.of(request('127.0.0.1', ['1.2.3.4', '203.0.113.5, 127.0.0.2']))).toBe('203.0.113.5');
    expect(addresses.of(request('127.0.0.1', '1.2.3.4, not-an-address'))).toBe('127.0.0.1');
    expect(addresses.of(request('127.0.0.1'))).toBe('127.0.0.1');
  });

  it('trust what they are told to, and refuse a list entry that is not an address or CIDR', () => {
    const addresses = new ClientAddresses(['10.1.0.0/16']);
    expect(addresses.of(request('10.1.2.3', '203.0.113.5'))).toBe('203.0.113.5');
    expect(addresses.of(request('127.0.0.1', '203.0.113.5'))).toBe('127.0.0.1');
    expect(new ClientAddresses([]).of(request('127.0.0.1', '203.0.113.5'))).toBe('127.0.0.1');
    expect(() => new ClientAddresses(['10.1.0.0/33'])).toThrow(/not a valid IP address or CIDR/);
  });
});
