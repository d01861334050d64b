import { describe, expect, it } from 'vitest';
import type { Netmap } from '../../src/control/messages.js';
import { nameserversIn, resolverAddresses, systemSettings } from './mesh-dns.js';

const MAP: Netmap = {
  self: {
    id: 'a',
    name: 'laptop',
    user: 'u',
    network: 'family',
    ips: ['100.64.0.1', 'fd7a:115c:a1e0::6440:1'],
    nodeKey: Buffer.alloc(32, 1).toString('base64'),
    discoKey: Buffer.alloc(32, 1).toString('base64'),
    endpoints: [],
    online: true,
    lastSeen: null,
    keyExpiry: null,
    shared: false,
    exitNodeOption: false,
    routes: [],
  },
  peers: [],
  filter: [],
  relays: [],
  dns: {
    baseDomain: 'burrow.internal',
    resolver: { ipv4: '100.100.100.100', ipv6: 'fd7a:115c:a1e0::53' },
    nameservers: ['9.9.9.9'],
    routes: [{ domain: 'corp.example', servers: ['10.1.0.53'] }],
    searchDomains: ['family.burrow.internal', 'corp.example'],
    override: false,
  },
};

describe('the system’s DNS for MagicDNS', () => {
  it('systemd-resolved: the link asks 100.100.100.100 for the base domain, the routes and the mesh’s reverse zones only', () => {
    const s = systemSettings(MAP, 'resolved');
    expect(s.nameservers).toEqual(['100.100.100.100']);
    expect(s.searchDomains).toEqual(['family.burrow.internal', 'corp.example']);
    expect(s.matchDomains.slice(0, 3)).toEqual(['burrow.internal', 'corp.example', '64.100.in-addr.arpa']);
    expect(s.matchDomains).toContain('127.100.in-addr.arpa');
    expect(s.matchDomains).not.toContain('128.100.in-addr.arpa');
    expect(s.matchDomains.at(-1)).toBe('0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa');
    // A /48 whose last groups are zero, written short.
    const zeros = { ...MAP, self: { ...MAP.self, ips: ['100.64.0.1', 'fd00:1::6440:1'] } };
    const { dns: _, ...noResolver } = zeros;
    expect(systemSettings(noResolver, 'resolved').matchDomains.at(-1)).toBe(
      '0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa',
    );
  });

  it('override: every name (resolved’s ~.); resolv.conf: every name, with the search domains', () => {
    const override = { ...MAP, dns: { ...MAP.dns!, override: true } };
    expect(systemSettings(override, 'resolved').matchDomains).toEqual([]);
    expect(systemSettings(MAP, 'file')).toEqual({
      nameservers: ['100.100.100.100'],
      searchDomains: ['family.burrow.internal', 'corp.example'],
      matchDomains: [],
    });
  });

  it('listens on 100.100.100.100 and the network’s resolver address; only the first without a dns section', () => {
    expect(resolverAddresses(MAP)).toEqual(['100.100.100.100', 'fd7a:115c:a1e0::53']);
    const { dns: _, ...old } = MAP;
    expect(resolverAddresses(old)).toEqual(['100.100.100.100']);
  });

  it('reads the previous resolvers from resolv.conf', () => {
    const text = '# x\nnameserver 192.0.2.53\n  nameserver fd00::53 \nnameserver fe80::1%eth0\nsearch lan\n';
    expect(nameserversIn(text)).toEqual([
      { host: '192.0.2.53', port: 53 },
      { host: 'fd00::53', port: 53 },
    ]);
  });
});
