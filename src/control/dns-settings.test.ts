import { describe, expect, it } from 'vitest';
import {
  canonicalDomain,
  canonicalNameserver,
  checkDnsSettings,
  nameserverAddress,
  networkLabel,
  resolverIpv6,
} from './dns-settings.js';

describe('DNS settings in normal form', () => {
  it('domains: lower case without the final dot; refused when not a DNS name', () => {
    expect(canonicalDomain('Corp.Example.')).toBe('corp.example');
    expect(canonicalDomain('a-1.b')).toBe('a-1.b');
    expect(canonicalDomain('internal')).toBe('internal');
    expect(canonicalDomain(`${'a'.repeat(63)}.x`)).toBe(`${'a'.repeat(63)}.x`);
    for (const bad of [
      '',
      '.',
      'a..b',
      '-a.b',
      'a-.b',
      'a b',
      'a_b.c',
      '10.0.0.1',
      `${'a'.repeat(64)}.x`,
      `${'abcdefg.'.repeat(32)}x`,
      'é.example',
    ]) {
      expect(() => canonicalDomain(bad), bad).toThrow(/is not a DNS name/);
    }
  });

  it('name servers: port 53 left out, IPv6 in RFC 5952 form and bracketed with a port', () => {
    expect(canonicalNameserver('10.0.0.53')).toBe('10.0.0.53');
    expect(canonicalNameserver('10.0.0.53:53')).toBe('10.0.0.53');
    expect(canonicalNameserver('10.0.0.53:5353')).toBe('10.0.0.53:5353');
    expect(canonicalNameserver('2001:DB8:0::1')).toBe('2001:db8::1');
    expect(canonicalNameserver('[2001:db8::1]:53')).toBe('2001:db8::1');
    expect(canonicalNameserver('[2001:db8::1]:5353')).toBe('[2001:db8::1]:5353');
    for (const bad of [
      '',
      'dns.example',
      '10.0.0',
      '010.0.0.1',
      '10.0.0.1/32',
      '10.0.0.1:',
      '10.0.0.1:65536',
      '10.0.0.1:0',
      '[10.0.0.1]:53',
      '2001:db8::1:',
      '[2001:db8::1]',
      '0.0.0.0',
      '::',
      '224.0.0.251',
      '255.255.255.255',
      'ff02::fb',
      ' 10.0.0.1',
    ]) {
      expect(() => canonicalNameserver(bad), bad).toThrow();
    }
    expect(nameserverAddress('10.0.0.53:5353')).toBe('10.0.0.53');
    expect(nameserverAddress('[2001:db8::1]:5353')).toBe('2001:db8::1');
    expect(nameserverAddress('2001:db8::1')).toBe('2001:db8::1');
  });

  it("the resolver's IPv6 address is ::53 in the network's /48", () => {
    expect(resolverIpv6('fd12:3456:789a::/48')).toBe('fd12:3456:789a::53');
    expect(resolverIpv6('fd00::/48')).toBe('fd00::53');
    expect(() => resolverIpv6('fd12:3456:789a::/64')).toThrow();
  });

  it('network names become one DNS label', () => {
    expect(networkLabel('family')).toBe('family');
    expect(networkLabel('Family')).toBe('family');
    expect(networkLabel('alice@example.com')).toBe('alice-example-com');
    expect(networkLabel('--ünïcode--')).toBe('n-code');
    expect(networkLabel('@@@')).toBe('network');
    expect(networkLabel('x'.repeat(100))).toHaveLength(63);
  });

  it('settings: checked field by field against the network and the base domain', () => {
    const context = { ula: 'fd12:3456:789a::/48', baseDomain: 'burrow.internal' };
    expect(
      checkDnsSettings(
        {
          nameservers: ['1.1.1.1', '1.1.1.1:53'],
          routes: [
            { domain: 'z.example', servers: ['10.0.0.1'] },
            { domain: 'A.example', servers: ['10.0.0.2', '10.0.0.2'] },
          ],
          searchDomains: [],
          override: false,
        },
        context,
      ),
    ).toEqual({
      nameservers: ['1.1.1.1'],
      routes: [
        { domain: 'a.example', servers: ['10.0.0.2'] },
        { domain: 'z.example', servers: ['10.0.0.1'] },
      ],
      searchDomains: [],
      override: false,
    });
    const none = { nameservers: [], routes: [], searchDomains: [], override: false };
    expect(() =>
      checkDnsSettings({ ...none, routes: [{ domain: 'x', servers: ['fd12:3456:789a::53'] }] }, context),
    ).toThrow(/^routes\[0\]\.servers\[0\]: fd12:3456:789a::53 is the device's own Burrow resolver/);
    expect(() =>
      checkDnsSettings({ ...none, routes: [{ domain: 'burrow.internal', servers: ['10.0.0.1'] }] }, context),
    ).toThrow(/under the base domain/);
  });
});
