import { describe, expect, it } from 'vitest';
import { formatAddr } from '../packet/ip-text.js';
import type { DnsAction } from './actions.js';
import { RCODE, TYPE } from './constants.js';
import { type DnsMessage, encodeMessage, parseMessage } from './message.js';
import { DnsResolver } from './resolver.js';
import type { DnsTable } from './table.js';
import { countingRandom, queryBytes } from './testing.js';

const LAN_RESOLVER = { host: '192.168.1.1', port: 53 };
const CORP = { host: '10.1.0.53', port: 53 };
const DEV_CORP = { host: '10.2.0.53', port: 5353 };
const ULA = 'fd7a:115c:a1e0::';

const TABLE: DnsTable = {
  baseDomain: 'burrow.internal',
  devices: [
    { fqdn: 'laptop.family.burrow.internal', shortNames: ['laptop'], ips: ['100.64.0.1', `${ULA}1`] },
    { fqdn: 'webcam.family.burrow.internal.', shortNames: ['webcam'], ips: ['100.64.0.2', `${ULA}2`] },
    // Shared with us from carol's network, under her network's name.
    { fqdn: 'nas.carol.burrow.internal', shortNames: [], ips: ['100.64.7.9'] },
    { fqdn: 'printer.family.burrow.internal', shortNames: ['printer'], ips: ['100.64.0.3'] },
  ],
  routes: [
    { suffix: 'corp.example', servers: [CORP] },
    { suffix: 'dev.corp.example', servers: [DEV_CORP] },
  ],
  fallback: [LAN_RESOLVER],
  overrideAll: [],
  reverseZones: [`${ULA}/48`],
};

const ME = 'stub';

function resolver(table: DnsTable = TABLE): DnsResolver<string> {
  return new DnsResolver<string>(table, { random: countingRandom(0x4000) });
}

function answered(action: DnsAction<string>): DnsMessage {
  if (action.kind !== 'answer') throw new Error(`expected an answer, got ${JSON.stringify(action)}`);
  expect(action.to).toBe(ME);
  return parseMessage(action.bytes);
}

function ask(r: DnsResolver<string>, name: string, type: number = TYPE.A, options = {}): DnsMessage {
  return answered(r.query(queryBytes(name, type, options), ME, 'udp', 0));
}

const addresses = (m: DnsMessage) =>
  m.answers.map((a) =>
    a.data.kind === 'a' || a.data.kind === 'aaaa' ? formatAddr(a.data.address) : a.data.kind,
  );

describe('the resolver answers for device names', () => {
  it('gives A and AAAA for a full name and a short one, in any case, echoing the question as asked', () => {
    const r = resolver();
    const m = ask(r, 'WebCam.Family.burrow.internal', TYPE.A, { id: 0xbeef });
    expect(m.header).toMatchObject({
      id: 0xbeef,
      qr: true,
      aa: true,
      rd: true,
      ra: true,
      rcode: RCODE.NOERROR,
    });
    expect(m.questions).toEqual([{ name: 'WebCam.Family.burrow.internal', type: TYPE.A, class: 1 }]);
    expect(m.answers).toEqual([
      { name: 'WebCam.Family.burrow.internal', type: TYPE.A, class: 1, ttl: 1, data: expect.anything() },
    ]);
    expect(addresses(m)).toEqual(['100.64.0.2']);
    expect(addresses(ask(r, 'webcam', TYPE.AAAA))).toEqual(['fd7a:115c:a1e0::2']);
    expect(addresses(ask(r, 'LAPTOP', TYPE.ANY))).toEqual(['100.64.0.1', 'fd7a:115c:a1e0::1']);
    expect(addresses(ask(r, 'nas.carol.burrow.internal'))).toEqual(['100.64.7.9']);
    expect(ask(r, 'webcam').opt?.udpSize).toBe(1232);
    expect(ask(r, 'webcam', TYPE.A, { opt: null }).opt).toBeNull();
  });

  it('says NXDOMAIN, with the SOA, for a name under the base domain that no device has', () => {
    const m = ask(resolver(), 'nope.family.burrow.internal');
    expect(m.header.rcode).toBe(RCODE.NXDOMAIN);
    expect(m.answers).toEqual([]);
    expect(m.authority).toMatchObject([
      {
        name: 'burrow.internal',
        type: TYPE.SOA,
        ttl: 1,
        data: { kind: 'soa', mname: 'burrow.internal', minimum: 1 },
      },
    ]);
  });

  it('says NOERROR with no answer for a name that exists without the type asked', () => {
    const r = resolver();
    for (const [name, type] of [
      ['printer.family.burrow.internal', TYPE.AAAA],
      ['webcam.family.burrow.internal', TYPE.MX],
      ['family.burrow.internal', TYPE.A], // exists: devices live below it
      ['carol.burrow.internal', TYPE.AAAA],
    ] as const) {
      const m = ask(r, name, type);
      expect(m.header.rcode, name).toBe(RCODE.NOERROR);
      expect(m.answers, name).toEqual([]);
      expect(m.authority[0]?.type, name).toBe(TYPE.SOA);
    }
    const soa = ask(r, 'Burrow.Internal', TYPE.SOA);
    expect(soa.answers).toMatchObject([{ name: 'Burrow.Internal', type: TYPE.SOA }]);
  });

  it('answers PTR for mesh addresses, NXDOMAIN for mesh addresses no device has', () => {
    const r = resolver();
    expect(ask(r, '2.0.64.100.in-addr.arpa', TYPE.PTR).answers).toMatchObject([
      { type: TYPE.PTR, data: { kind: 'ptr', target: 'webcam.family.burrow.internal' } },
    ]);
    const v6 = '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa';
    expect(ask(r, v6.toUpperCase(), TYPE.PTR).answers[0]?.data).toEqual({
      kind: 'ptr',
      target: 'webcam.family.burrow.internal',
    });
    const missing = ask(r, '9.9.64.100.in-addr.arpa', TYPE.PTR);
    expect(missing.header.rcode).toBe(RCODE.NXDOMAIN);
    expect(missing.authority[0]?.name).toBe('64.100.in-addr.arpa');
    expect(ask(r, `9.${v6.slice(2)}`, TYPE.PTR).authority[0]?.name).toBe('0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa');
    // A shorter name in the zone may have addresses below it.
    expect(ask(r, '0.64.100.in-addr.arpa', TYPE.PTR).header.rcode).toBe(RCODE.NOERROR);
    // Outside the mesh's ranges, reverse names are the LAN resolver's.
    expect(r.query(queryBytes('1.1.168.192.in-addr.arpa', TYPE.PTR), ME, 'udp', 0)).toMatchObject({
      kind: 'forward',
      upstream: LAN_RESOLVER,
    });
  });

  it('answers a rename at once: the new name resolves and the old one is gone', () => {
    const r = resolver();
    expect(addresses(ask(r, 'webcam.family.burrow.internal'))).toEqual(['100.64.0.2']);
    const serial = (m: DnsMessage) => (m.authority[0]?.data.kind === 'soa' ? m.authority[0].data.serial : -1);
    const before = serial(ask(r, 'nope.burrow.internal'));
    const renamed = TABLE.devices.map((d) =>
      d.shortNames.includes('webcam')
        ? { ...d, fqdn: 'sloth-cam.family.burrow.internal', shortNames: ['sloth-cam'] }
        : d,
    );
    expect(r.setTable({ ...TABLE, devices: renamed })).toEqual([]);
    expect(addresses(ask(r, 'sloth-cam'))).toEqual(['100.64.0.2']);
    expect(ask(r, 'webcam.family.burrow.internal').header.rcode).toBe(RCODE.NXDOMAIN);
    expect(serial(ask(r, 'nope.burrow.internal'))).toBeGreaterThan(before);
  });

  it('truncates an answer that does not fit the UDP buffer, and answers it whole over TCP', () => {
    const ips = Array.from({ length: 60 }, (_, i) => `${ULA}${(i + 1).toString(16)}`);
    const r = resolver({ ...TABLE, devices: [{ fqdn: 'big.burrow.internal', shortNames: [], ips }] });
    const udp = r.query(queryBytes('big.burrow.internal', TYPE.AAAA, { opt: null }), ME, 'udp', 0);
    expect(udp.kind === 'answer' && udp.bytes.length).toBeLessThanOrEqual(512);
    const m = answered(udp);
    expect(m.header.tc).toBe(true);
    expect(m.answers.length).toBeLessThan(60);
    const tcp = answered(r.query(queryBytes('big.burrow.internal', TYPE.AAAA, { opt: null }), ME, 'tcp', 0));
    expect(tcp.header.tc).toBe(false);
    expect(tcp.answers.length).toBe(60);
  });
});

describe('the resolver routes other names', () => {
  const forwardedTo = (r: DnsResolver<string>, name: string) => {
    const action = r.query(queryBytes(name), ME, 'udp', 0);
    return action.kind === 'forward' ? action.upstream : action.kind;
  };

  it('by the longest matching split-DNS suffix, everything else to the previous resolver', () => {
    const r = resolver();
    expect(forwardedTo(r, 'wiki.corp.example')).toEqual(CORP);
    expect(forwardedTo(r, 'CORP.example')).toEqual(CORP);
    expect(forwardedTo(r, 'build.dev.corp.example')).toEqual(DEV_CORP);
    expect(forwardedTo(r, 'xcorp.example')).toEqual(LAN_RESOLVER);
    expect(forwardedTo(r, 'example.com')).toEqual(LAN_RESOLVER);
    // A single label no device has may be the LAN's (a printer on the home router's DNS).
    expect(forwardedTo(r, 'router')).toEqual(LAN_RESOLVER);
  });

  it('to the override servers instead of the previous resolver when the admin says so', () => {
    const override = { host: '9.9.9.9', port: 53 };
    const r = resolver({ ...TABLE, overrideAll: [override] });
    expect(forwardedTo(r, 'example.com')).toEqual(override);
    expect(forwardedTo(r, 'wiki.corp.example')).toEqual(CORP);
    expect(ask(r, 'webcam').answers.length).toBe(1);
  });

  it('never to itself, when the old configuration already named it', () => {
    const r = resolver({
      ...TABLE,
      fallback: [{ host: '100.100.100.100', port: 53 }],
      ownAddresses: ['100.100.100.100'],
    });
    const m = ask(r, 'example.com');
    expect(m.header.rcode).toBe(RCODE.SERVFAIL);
    expect(r.counters['no-upstream']).toBe(1);
  });
});

describe('the resolver refuses what it must', () => {
  const header = (id: number, flags: number, qd: number) =>
    new Uint8Array([id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, qd, 0, 0, 0, 0, 0, 0]);

  it('answers FORMERR to a query it cannot parse or that has not exactly one question, and counts it', () => {
    const r = resolver();
    const garbage = new Uint8Array([...header(0x77, 0x0100, 1), 0x41, 0, 1, 0, 1]);
    expect(answered(r.query(garbage, ME, 'udp', 0)).header).toMatchObject({
      id: 0x77,
      rcode: RCODE.FORMERR,
      rd: true,
    });
    expect(answered(r.query(header(0x78, 0, 0), ME, 'udp', 0)).header.rcode).toBe(RCODE.FORMERR);
    const one = parseMessage(queryBytes('a.example'));
    const two = encodeMessage({
      ...one,
      questions: [...one.questions, { name: 'b.example', type: 1, class: 1 }],
    });
    expect(answered(r.query(two, ME, 'udp', 0)).header.rcode).toBe(RCODE.FORMERR);
    expect(r.refusals()).toEqual({ 'bad-label-type': 1, 'not-one-question': 2 });
  });

  it('drops what has no header, is a response, or is larger than any query, and counts it', () => {
    const r = resolver();
    expect(r.query(new Uint8Array(11), ME, 'udp', 0)).toEqual({ kind: 'drop', reason: 'too-short' });
    const response = queryBytes('webcam');
    response[2]! |= 0x80;
    expect(r.query(response, ME, 'udp', 0)).toEqual({ kind: 'drop', reason: 'not-a-query' });
    const badResponse = new Uint8Array([...header(1, 0x8000, 1), 0x41]);
    expect(r.query(badResponse, ME, 'udp', 0)).toEqual({ kind: 'drop', reason: 'not-a-query' });
    expect(r.query(new Uint8Array(1233), ME, 'udp', 0)).toEqual({ kind: 'drop', reason: 'oversize-query' });
    expect(r.refusals()).toEqual({ 'too-short': 1, 'not-a-query': 2, 'oversize-query': 1 });
  });

  it('answers NOTIMP, BADVERS and REFUSED where those apply', () => {
    const r = resolver();
    expect(ask(r, 'webcam', TYPE.A, { opcode: 4 }).header.rcode).toBe(RCODE.NOTIMP);
    const badvers = ask(r, 'webcam', TYPE.A, {
      opt: { udpSize: 1232, extendedRcode: 0, version: 1, flags: 0, options: [] },
    });
    expect(badvers.header.rcode).toBe(0);
    expect(badvers.opt).toMatchObject({ extendedRcode: 1, version: 0 });
    expect(ask(r, 'webcam', TYPE.A, { klass: 3 }).header.rcode).toBe(RCODE.REFUSED);
    expect(ask(r, 'burrow.internal', 252).header.rcode).toBe(RCODE.REFUSED);
    expect(r.refusals()).toEqual({
      'unsupported-opcode': 1,
      'bad-edns-version': 1,
      'unsupported-class': 1,
      'zone-transfer': 1,
    });
  });

  it('leaves out, and names, the parts of a table that are not valid', () => {
    const r = resolver();
    const problems = r.setTable({
      ...TABLE,
      devices: [
        ...TABLE.devices,
        { fqdn: 'bad name.burrow.internal', shortNames: [], ips: ['100.64.0.9'] },
        {
          fqdn: 'other.burrow.internal',
          shortNames: ['webcam', 'x..y'],
          ips: ['100.64.0.10', '100.64.0.0/24', 'nope'],
        },
      ],
      routes: [{ suffix: 'corp.example', servers: [{ host: 'dns.corp.example', port: 53 }] }],
      reverseZones: ['fd00::/50'],
    });
    expect(problems).toEqual([
      'device name "bad name.burrow.internal" is not a DNS name',
      'other.burrow.internal: "100.64.0.0/24" is not an IP address',
      'other.burrow.internal: "nope" is not an IP address',
      '"webcam" names two devices; the first keeps it',
      'other.burrow.internal: "x..y" is not a DNS name',
      'reverse zone fd00::/50: not whole labels',
      'DNS server {"host":"dns.corp.example","port":53} is not an IP address and port',
    ]);
    expect(addresses(ask(r, 'webcam'))).toEqual(['100.64.0.2']);
    expect(addresses(ask(r, 'other.burrow.internal'))).toEqual(['100.64.0.10']);
  });
});
