import { describe, expect, it } from 'vitest';
import type { Netmap, NodeInfo } from '../control/messages.js';
import { meshDnsTable, resolverAddresses, upstreamOf } from './mesh-table.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
function node(id: string, name: string, network: string, ips: string[]): NodeInfo {
  return {
    id,
    name,
    user: 'u',
    network,
    ips,
    nodeKey: KEY,
    discoKey: KEY,
    endpoints: [],
    online: true,
    lastSeen: null,
    keyExpiry: null,
    shared: network !== 'family',
    exitNodeOption: false,
    routes: [],
  };
}

const MAP: Netmap = {
  self: node('a', 'laptop', 'family', ['100.64.0.1', 'fd7a:115c:a1e0::6440:1']),
  peers: [
    node('b', 'webcam', 'family', ['100.64.0.2', 'fd7a:115c:a1e0::6440:2']),
    node('c', 'webcam', 'carol', ['100.64.7.9', 'fd11:2222:3333::6440:709']),
  ],
  filter: [],
  relays: [],
  dns: {
    baseDomain: 'lan.example',
    resolver: { ipv4: '100.100.100.100', ipv6: 'fd7a:115c:a1e0::53' },
    nameservers: ['9.9.9.9', '[2620:fe::fe]:5353'],
    routes: [{ domain: 'corp.example', servers: ['10.1.0.53', '10.1.0.54:5353'] }],
    searchDomains: ['family.lan.example'],
    override: false,
  },
};

describe('the mesh resolver’s table', () => {
  it('device names from the map (shared ones under their network), routes, and the fallback', () => {
    const fallback = [{ host: '192.0.2.53', port: 53 }];
    const table = meshDnsTable(MAP, fallback);
    expect(table.baseDomain).toBe('lan.example');
    expect(table.devices).toEqual([
      {
        fqdn: 'laptop.family.lan.example',
        shortNames: ['laptop'],
        ips: ['100.64.0.1', 'fd7a:115c:a1e0::6440:1'],
      },
      {
        fqdn: 'webcam.family.lan.example',
        shortNames: ['webcam'],
        ips: ['100.64.0.2', 'fd7a:115c:a1e0::6440:2'],
      },
      {
        fqdn: 'webcam.carol.lan.example',
        shortNames: ['webcam-carol'],
        ips: ['100.64.7.9', 'fd11:2222:3333::6440:709'],
      },
    ]);
    expect(table.routes).toEqual([
      {
        suffix: 'corp.example',
        servers: [
          { host: '10.1.0.53', port: 53 },
          { host: '10.1.0.54', port: 5353 },
        ],
      },
    ]);
    expect(table.fallback).toEqual(fallback);
    expect(table.overrideAll).toEqual([]);
    expect(table.reverseZones).toEqual(['fd11:2222:3333::/48', 'fd7a:115c:a1e0::/48']);
    expect(table.ownAddresses).toEqual(['100.100.100.100', 'fd7a:115c:a1e0::53']);
  });

  it('override: the network’s servers take every other name', () => {
    const table = meshDnsTable({ ...MAP, dns: { ...MAP.dns!, override: true } }, []);
    expect(table.overrideAll).toEqual([
      { host: '9.9.9.9', port: 53 },
      { host: '2620:fe::fe', port: 5353 },
    ]);
  });

  it('a map without a dns section (an older server): the default base domain, 100.100.100.100 only', () => {
    const { dns: _, ...old } = MAP;
    expect(meshDnsTable(old, []).baseDomain).toBe('burrow.internal');
    expect(resolverAddresses(old)).toEqual(['100.100.100.100']);
    expect(upstreamOf('10.0.0.1')).toEqual({ host: '10.0.0.1', port: 53 });
  });
});
