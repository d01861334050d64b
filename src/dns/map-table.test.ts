import { describe, expect, it } from 'vitest';
import type { Netmap, NodeInfo } from '../control/messages.js';
import { parseCidr } from '../packet/ip-text.js';
import { RCODE, TYPE } from './constants.js';
import { tableFromMap, upstream } from './map-table.js';
import { parseMessage } from './message.js';
import { DnsResolver } from './resolver.js';
import { reverseName } from './reverse-names.js';
import { countingRandom, queryBytes } from './testing.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const FAMILY_ULA = 'fd12:3456:789a';
const CAROL_ULA = 'fdaa:bbbb:cccc';

function node(id: string, name: string, network: string, n: number, ula: string): NodeInfo {
  return {
    id,
    name,
    user: 'u',
    network,
    ips: [`100.64.0.${n}`, `${ula}::6440:${n.toString(16)}`],
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
  self: node('n1', 'laptop', 'family', 1, FAMILY_ULA),
  peers: [node('n2', 'webcam', 'family', 2, FAMILY_ULA), node('n3', 'webcam', 'carol', 3, CAROL_ULA)],
  filter: [],
  relays: [],
  dns: {
    baseDomain: 'burrow.internal',
    resolver: { ipv4: '100.100.100.100', ipv6: `${FAMILY_ULA}::53` },
    nameservers: ['9.9.9.9', '[2620:fe::fe]:5353'],
    routes: [{ domain: 'corp.example', servers: ['10.1.0.53:5353'] }],
    searchDomains: ['family.burrow.internal'],
    override: false,
  },
};

const LAN = { host: '192.168.1.1', port: 53 };

function ask(r: DnsResolver<string>, name: string, type: number = TYPE.A) {
  const action = r.query(queryBytes(name, type), 'me', 'udp', 0);
  return action.kind === 'answer' ? parseMessage(action.bytes) : action;
}

describe("the resolver's table from a map", () => {
  it('reads name servers as the map writes them', () => {
    expect(upstream('9.9.9.9')).toEqual({ host: '9.9.9.9', port: 53 });
    expect(upstream('10.1.0.53:5353')).toEqual({ host: '10.1.0.53', port: 5353 });
    expect(upstream('[2620:fe::fe]:5353')).toEqual({ host: '2620:fe::fe', port: 5353 });
    expect(upstream('2620:fe::fe')).toEqual({ host: '2620:fe::fe', port: 53 });
  });

  it('answers the names status shows, shared devices with their suffix, and PTR in every network ULA', () => {
    const table = tableFromMap(MAP, [LAN]);
    const r = new DnsResolver<string>(table, { random: countingRandom() });
    expect(r.setTable(table)).toEqual([]);
    const a = (name: string) => {
      const m = ask(r, name);
      return 'answers' in m
        ? m.answers.map((x) => (x.data.kind === 'a' ? [...x.data.address].join('.') : ''))
        : m;
    };
    expect(a('webcam')).toEqual(['100.64.0.2']);
    expect(a('webcam.family.burrow.internal')).toEqual(['100.64.0.2']);
    expect(a('webcam-carol')).toEqual(['100.64.0.3']);
    expect(a('webcam.carol.burrow.internal')).toEqual(['100.64.0.3']);
    const ptr = ask(r, reverseName(parseCidr(`${CAROL_ULA}::6440:3`).addr), TYPE.PTR);
    expect('answers' in ptr && ptr.answers[0]?.data).toEqual({
      kind: 'ptr',
      target: 'webcam.carol.burrow.internal',
    });
    const missing = ask(
      r,
      `9.9.0.0.0.4.6.6.0.0.0.0.0.0.0.0.0.0.0.0.a.9.8.7.6.5.4.3.2.1.d.f.ip6.arpa`,
      TYPE.PTR,
    );
    expect('header' in missing && missing.header.rcode).toBe(RCODE.NXDOMAIN);
  });

  it("routes split DNS by the map, the rest to the system's resolvers, or to the admin's with override", () => {
    const to = (table: ReturnType<typeof tableFromMap>, name: string) => {
      const action = new DnsResolver<string>(table, { random: countingRandom() }).query(
        queryBytes(name),
        'me',
        'udp',
        0,
      );
      return action.kind === 'forward' ? action.upstream : action.kind;
    };
    expect(to(tableFromMap(MAP, [LAN]), 'wiki.corp.example')).toEqual({ host: '10.1.0.53', port: 5353 });
    expect(to(tableFromMap(MAP, [LAN]), 'example.com')).toEqual(LAN);
    expect(to(tableFromMap(MAP, []), 'example.com')).toEqual({ host: '9.9.9.9', port: 53 });
    const override = { ...MAP, dns: { ...MAP.dns!, override: true } };
    expect(to(tableFromMap(override, [LAN]), 'example.com')).toEqual({ host: '9.9.9.9', port: 53 });
    // The system's old configuration naming our own address is left out, not looped through.
    expect(to(tableFromMap(MAP, [{ host: '100.100.100.100', port: 53 }]), 'example.com')).toBe('answer');
  });

  it('works from a map without a dns section (a server before issue 17)', () => {
    const { dns: _, ...old } = MAP;
    const table = tableFromMap(old, [LAN]);
    expect(table.baseDomain).toBe('burrow.internal');
    expect(table.ownAddresses).toEqual(['100.100.100.100']);
    expect([...table.reverseZones].sort()).toEqual([`${FAMILY_ULA}::/48`, `${CAROL_ULA}::/48`]);
  });
});
