import { describe, expect, it } from 'vitest';
import { parseCidr } from '../packet/ip-text.js';
import { readReverseName, reverseName } from './reverse-names.js';

const addr = (text: string) => parseCidr(text).addr;

describe('reverse names', () => {
  it('spells an address backwards, by octet or by nibble', () => {
    expect(reverseName(addr('100.64.0.5'))).toBe('5.0.64.100.in-addr.arpa');
    expect(reverseName(addr('100.64.0.5'), 16)).toBe('64.100.in-addr.arpa');
    expect(reverseName(addr('fd7a:115c:a1e0::5'))).toBe(
      '5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa',
    );
    expect(reverseName(addr('fd7a:115c:a1e0::'), 48)).toBe('0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa');
  });

  it('reads a reverse name back into the address bits it spells', () => {
    for (const text of ['100.64.0.5', '100.127.255.255', 'fd7a:115c:a1e0::5', 'fd00:1:2:3:4:5:6:7']) {
      const read = readReverseName(reverseName(addr(text)))!;
      expect(read).toEqual({
        family: text.includes(':') ? 6 : 4,
        addr: addr(text),
        bits: read.addr.length * 8,
        extra: false,
      });
    }
    expect(readReverseName('64.100.in-addr.arpa')).toEqual({
      family: 4,
      addr: addr('100.64.0.0'),
      bits: 16,
      extra: false,
    });
    expect(readReverseName('example.com')).toBeNull();
    expect(readReverseName('in-addr.arpa')).toBeNull();
  });

  it('says when labels are left over: not an octet, not a nibble, or past the address', () => {
    for (const key of [
      '01.64.100.in-addr.arpa',
      '256.64.100.in-addr.arpa',
      'x.64.100.in-addr.arpa',
      '1.2.3.4.5.in-addr.arpa',
    ]) {
      expect(readReverseName(key)?.extra, key).toBe(true);
    }
    expect(readReverseName('01.64.100.in-addr.arpa')?.bits).toBe(16);
    expect(readReverseName('ab.d.f.ip6.arpa')).toMatchObject({ bits: 8, extra: true });
    expect(readReverseName(`0.${reverseName(addr('fd00::1'))}`)?.extra).toBe(true);
  });
});
