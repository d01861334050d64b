import { describe, expect, it } from 'vitest';
import { clientKey, displayAddress } from './client-address.js';

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
