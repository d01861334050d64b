import { describe, expect, it } from 'vitest';
import {
  containsAddress,
  formatPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixIntersection,
} from './prefix.js';

const p = parsePrefix;
const addr = (text: string) => parseAddress(text).addr;

describe('prefixes', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['100.64.0.5', '100.64.0.5/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['FD7A:115C:A1E0::/48', 'fd7a:115c:a1e0::/48'],
    ['fd7a:115c:a1e0::5', 'fd7a:115c:a1e0::5/128'],
    ['::/0', '::/0'],
  ])('%s reads as %s', (text, canonical) => {
    expect(formatPrefix(p(text))).toBe(canonical);
  });

  it.each([
    ['10.0.0.1/8', '"10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)'],
    ['fd7a::1/16', '"fd7a::1/16" has host bits set (did you mean fd7a::/16?)'],
    ['10.0.0.0/33', '"10.0.0.0/33" is not a valid IP address or CIDR'],
    ['10.0.0', '"10.0.0" is not a valid IP address or CIDR'],
    ['010.0.0.1', '"010.0.0.1" is not a valid IP address or CIDR'],
    [' 10.0.0.1', '" 10.0.0.1" is not a valid IP address or CIDR'],
  ])('refuses %s', (text, message) => {
    expect(() => p(text)).toThrow(message);
  });

  it('parseAddress refuses a prefix length', () => {
    expect(() => parseAddress('10.0.0.1/32')).toThrow('"10.0.0.1/32" is not a single IP address');
  });

  it('containment and intersection', () => {
    expect(prefixContains(p('10.0.0.0/8'), p('10.1.0.0/16'))).toBe(true);
    expect(prefixContains(p('10.1.0.0/16'), p('10.0.0.0/8'))).toBe(false);
    expect(prefixContains(p('10.0.0.0/8'), p('10.0.0.0/8'))).toBe(true);
    expect(prefixContains(p('0.0.0.0/0'), p('::/128'))).toBe(false);
    expect(containsAddress(p('100.64.0.0/10'), addr('100.127.255.255'))).toBe(true);
    expect(containsAddress(p('100.64.0.0/10'), addr('100.128.0.0'))).toBe(false);
    expect(containsAddress(p('::/0'), addr('10.0.0.1'))).toBe(false);
    expect(formatPrefix(prefixIntersection(p('10.0.0.0/8'), p('10.9.0.0/16'))!)).toBe('10.9.0.0/16');
    expect(formatPrefix(prefixIntersection(p('10.9.0.0/16'), p('10.0.0.0/8'))!)).toBe('10.9.0.0/16');
    expect(prefixIntersection(p('10.0.0.0/8'), p('11.0.0.0/8'))).toBeNull();
  });
});
