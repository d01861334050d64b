import { describe, expect, it } from 'vitest';
import { type DnsTable, indexTable, upstreamsFor } from './table.js';

const EMPTY: DnsTable = {
  baseDomain: 'burrow.internal',
  devices: [],
  routes: [],
  fallback: [],
  overrideAll: [],
  reverseZones: [],
};

describe('the name index', () => {
  it('files names between a device and the base domain as existing, and lets a device take one', () => {
    const { index, problems } = indexTable({
      ...EMPTY,
      devices: [
        { fqdn: 'cam.kitchen.family.burrow.internal', shortNames: [], ips: ['100.64.0.2'] },
        { fqdn: 'family.burrow.internal', shortNames: [], ips: ['100.64.0.3'] },
      ],
    });
    expect(problems).toEqual([]);
    expect([...index.names.keys()].sort()).toEqual([
      'burrow.internal',
      'cam.kitchen.family.burrow.internal',
      'family.burrow.internal',
      'kitchen.family.burrow.internal',
    ]);
    expect(index.names.get('kitchen.family.burrow.internal')).toEqual({
      v4: [],
      v6: [],
      zone: 'burrow.internal',
    });
    expect(index.names.get('family.burrow.internal')?.v4).toEqual([new Uint8Array([100, 64, 0, 3])]);
  });

  it('gives an address to the first device that has it, and a name to the first that claims it', () => {
    const { index, problems } = indexTable({
      ...EMPTY,
      devices: [
        { fqdn: 'a.burrow.internal', shortNames: ['box'], ips: ['100.64.0.1'] },
        { fqdn: 'b.burrow.internal', shortNames: ['box'], ips: ['100.64.0.1'] },
        { fqdn: 'A.burrow.internal', shortNames: [], ips: ['100.64.0.9'] },
      ],
    });
    expect(index.ptr.get('1.0.64.100.in-addr.arpa')).toBe('a.burrow.internal');
    expect(index.ptr.has('9.0.64.100.in-addr.arpa')).toBe(false);
    expect(index.names.get('box')?.v4).toEqual([new Uint8Array([100, 64, 0, 1])]);
    expect(problems).toEqual([
      '"box" names two devices; the first keeps it',
      '"a.burrow.internal" names two devices; the first keeps it',
    ]);
  });

  it('routes by the longest suffix, with servers in canonical form, never to itself', () => {
    const { index, problems } = indexTable({
      ...EMPTY,
      routes: [
        { suffix: 'Example.', servers: [{ host: '10.0.0.1', port: 53 }] },
        { suffix: 'a.b.example', servers: [{ host: 'FD00:0::1', port: 53 }] },
        { suffix: 'b.example', servers: [{ host: '10.0.0.2', port: 0 }] },
      ],
      fallback: [
        { host: '100.100.100.100', port: 53 },
        { host: '192.168.1.1', port: 53 },
      ],
      ownAddresses: ['100.100.100.100'],
    });
    expect(upstreamsFor(index, 'x.a.b.example')).toEqual([{ host: 'fd00::1', port: 53 }]);
    expect(upstreamsFor(index, 'x.b.example')).toEqual([]);
    expect(upstreamsFor(index, 'example')).toEqual([{ host: '10.0.0.1', port: 53 }]);
    expect(upstreamsFor(index, 'example.com')).toEqual([{ host: '192.168.1.1', port: 53 }]);
    expect(problems).toEqual([
      'DNS server {"host":"10.0.0.2","port":0} is not an IP address and port',
      'DNS server 100.100.100.100 is this resolver; left out',
    ]);
  });

  it('refuses a base domain that is not a name, and then owns no zone but the reverse ones', () => {
    const { index, problems } = indexTable({ ...EMPTY, baseDomain: 'bad..name' });
    expect(problems).toEqual(['base domain "bad..name" is not a DNS name']);
    expect(index.base).toBe('');
    expect(index.names.size).toBe(0);
  });
});
