import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import {
  clientMessage,
  type InviteInfo,
  type NodeInfo,
  relayRegion,
  type ShareInfo,
  serverMessage,
} from './messages.js';
import { parseJson, SchemaError } from './schema.js';

const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const node: NodeInfo = {
  id: 'dev_1',
  name: 'laptop',
  user: 'alice@example.com',
  network: 'alice',
  ips: ['100.64.0.1', 'fd7a:115c:a1e0::1'],
  nodeKey: KEY,
  discoKey: KEY,
  endpoints: ['192.0.2.1:41641', '[2001:db8::1]:41641'],
  online: true,
  lastSeen: null,
  keyExpiry: 1_800_000_000_000,
  shared: false,
  exitNodeOption: false,
  routes: [],
};
const DNS = {
  baseDomain: 'burrow.internal',
  resolver: { ipv4: '100.100.100.100', ipv6: 'fd7a:115c:a1e0::53' },
  nameservers: ['10.1.0.53', '[2001:db8::53]:5353'],
  routes: [{ domain: 'corp.example', servers: ['10.1.0.53:5353'] }],
  searchDomains: ['alice.burrow.internal', 'corp.example'],
  override: false,
};
const CODE = `binv-0123456789ab-${'A'.repeat(43)}`;
const invite: InviteInfo = {
  id: 'inv_1',
  deviceId: 'dev_1',
  device: 'laptop',
  owner: 'alice@example.com',
  recipient: 'bob',
  prefix: '0123456789ab',
  multiUse: false,
  state: 'pending',
  createdAt: 1_700_000_000_000,
  expiresAt: 1_702_592_000_000,
};
const share: ShareInfo = {
  id: 'shr_1',
  inviteId: 'inv_1',
  deviceId: 'dev_1',
  device: 'laptop',
  owner: 'alice@example.com',
  recipient: 'bob',
  createdAt: 1_700_000_000_001,
};
const listReply = {
  type: 'reply',
  id: 3,
  outcome: 'ok',
  result: { op: 'share-list', incoming: [invite], outgoing: [], accepted: [share] },
};

/** Expects `parse(value)` to throw a SchemaError with exactly `message`. */
function refuses(parse: (value: unknown) => unknown, value: unknown, message: string) {
  let thrown: unknown;
  try {
    parse(value);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(SchemaError);
  expect((thrown as Error).message).toBe(message);
}

describe('control messages', () => {
  it('accepts well-formed messages both ways and keeps their values', () => {
    const reg = {
      type: 'register',
      nodeKey: KEY,
      discoKey: KEY,
      hostname: 'laptop',
      authKey: 'bkey-abc-def',
    };
    expect(clientMessage.parse(reg)).toEqual(reg);
    expect(clientMessage.parse({ type: 'map', endpoints: ['192.0.2.1:1'], since: 5 })).toMatchObject({
      since: 5,
    });
    const full = {
      type: 'full-map',
      seq: 7,
      map: { self: node, peers: [node], filter: [], relays: [] },
    };
    expect(serverMessage.parse(full)).toEqual(full);
    const ok = { type: 'register-result', status: 'ok', self: node };
    expect(serverMessage.parse(ok)).toEqual(ok);
  });

  it("names a region's STUN server by address or by DNS name, and nothing else", () => {
    const region = { id: 900, name: 'burrow-server', url: 'https://burrow.example.com' };
    for (const stun of [
      '203.0.113.7:3478',
      '[2001:db8::1]:3478',
      'burrow.example.com:3478',
      'stun:3478',
      'xn--bcher-kva.example:3478',
    ])
      expect(relayRegion.parse({ ...region, stun })).toEqual({ ...region, stun });
    for (const stun of [
      'burrow.example.com',
      'burrow.example.com.:3478',
      '-bad.example.com:3478',
      'under_score.example:3478',
      'two..dots:3478',
      '2001:db8::1:3478',
      `${'a'.repeat(64)}.example:3478`,
      'stun:3478/x',
    ])
      expect(() => relayRegion.parse({ ...region, stun }), stun).toThrow(/stun: /);
  });

  it('carries a home relay region: optional from the device, null or a region id in a node', () => {
    for (const m of [
      { type: 'map', endpoints: [], homeRelay: 901 },
      { type: 'endpoints', endpoints: ['192.0.2.1:1'], homeRelay: 1 },
      { type: 'endpoints', endpoints: [] },
    ]) {
      expect(clientMessage.parse(m)).toEqual(m);
    }
    for (const self of [
      { ...node, homeRelay: 65535 },
      { ...node, homeRelay: null },
      node, // as netmaps cached by older versions have it
    ]) {
      const ok = { type: 'register-result', status: 'ok', self };
      expect(serverMessage.parse(ok)).toEqual(ok);
    }
    refuses(
      (v) => clientMessage.parse(v),
      { type: 'endpoints', endpoints: [], homeRelay: 0 },
      '$.homeRelay: must be between 1 and 65535',
    );
    refuses(
      (v) => clientMessage.parse(v),
      { type: 'map', endpoints: [], homeRelay: null },
      '$.homeRelay: expected an integer, got null',
    );
    refuses(
      (v) => serverMessage.parse(v),
      { type: 'delta', seq: 1, peersChanged: [{ ...node, homeRelay: 65536 }] },
      '$.peersChanged[0].homeRelay: must be between 1 and 65535',
    );
  });

  it('accepts share requests, replies and the shares-changed push', () => {
    for (const request of [
      { type: 'share-create', id: 1, deviceId: 'dev_1', recipient: 'bob@example.com' },
      { type: 'share-create', id: 2, deviceId: 'dev_1', multiUse: true },
      { type: 'share-list', id: 3 },
      { type: 'share-accept', id: 4, code: CODE },
      { type: 'share-accept', id: 5, inviteId: 'inv_1' },
      { type: 'share-decline', id: 6, inviteId: 'inv_1' },
      { type: 'share-revoke', id: 7, inviteId: 'inv_1' },
      { type: 'share-revoke', id: 8, shareId: 'shr_1' },
    ]) {
      expect(clientMessage.parse(request)).toEqual(request);
    }
    for (const message of [
      listReply,
      { type: 'reply', id: 1, outcome: 'ok', result: { op: 'share-create', invite, code: CODE } },
      { type: 'reply', id: 4, outcome: 'ok', result: { op: 'share-accept', share } },
      {
        type: 'reply',
        id: 6,
        outcome: 'ok',
        result: { op: 'share-decline', invite: { ...invite, recipient: null } },
      },
      { type: 'reply', id: 7, outcome: 'ok', result: { op: 'share-revoke' } },
      { type: 'reply', id: 8, outcome: 'error', error: 'no share shr_1' },
      { type: 'shares-changed' },
    ]) {
      expect(serverMessage.parse(message)).toEqual(message);
    }
  });

  it.each([
    [
      { type: 'share-accept', id: 1, code: CODE, inviteId: 'inv_1' },
      '$: expected exactly one of code, inviteId',
    ],
    [{ type: 'share-accept', id: 1 }, '$: expected exactly one of code, inviteId'],
    [
      { type: 'share-accept', id: 1, code: 'binv-nope' },
      '$.code: expected an invite code (binv-...), got "binv-nope"',
    ],
    [{ type: 'share-revoke', id: 1 }, '$: expected exactly one of inviteId, shareId'],
    [
      { type: 'share-revoke', id: 1, inviteId: 'inv_1', shareId: 'shr_1' },
      '$: expected exactly one of inviteId, shareId',
    ],
    [{ type: 'share-create', id: 1 }, '$.deviceId: is required'],
    [
      { type: 'share-create', id: 1, deviceId: 'dev_1', recipient: 'bo b' },
      '$.recipient: expected a user name, got "bo b"',
    ],
    [{ type: 'share-create', id: 1, deviceId: 'dev_1', userId: 'u_1' }, '$.userId: unknown field'],
    [{ type: 'share-decline', id: -1, inviteId: 'inv_1' }, '$.id: must be between 0 and 2147483648'],
    [{ type: 'share-list' }, '$.id: is required'],
  ])('refuses the share request %j: %s', (value, message) =>
    refuses((v) => clientMessage.parse(v), value, message),
  );

  it.each([
    [{ ...listReply, outcome: 'maybe' }, '$.outcome: expected one of ok, error, got "maybe"'],
    [
      { ...listReply, result: { op: 'share-nope' } },
      '$.result.op: expected one of share-create, share-list, share-accept, share-decline, share-revoke, got "share-nope"',
    ],
    // Codes travel in the create reply only, never in a record.
    [
      { ...listReply, result: { ...listReply.result, incoming: [{ ...invite, code: CODE }] } },
      '$.result.incoming[0].code: unknown field',
    ],
    [
      { ...listReply, result: { ...listReply.result, accepted: [{ ...share, recipient: '' }] } },
      '$.result.accepted[0].recipient: must be at least 1 characters',
    ],
    [
      { ...listReply, result: { ...listReply.result, outgoing: [{ ...invite, state: 'lost' }] } },
      '$.result.outgoing[0].state: expected one of "pending", "accepted", "declined", "revoked", "expired", got "lost"',
    ],
    [{ type: 'reply', id: 1, outcome: 'error' }, '$.error: is required'],
    [
      { type: 'reply', id: 1, outcome: 'ok', error: 'x', result: { op: 'share-revoke' } },
      '$.error: unknown field',
    ],
    [
      { type: 'reply', id: 1, outcome: 'ok', result: { op: 'share-create', invite, code: 'secret' } },
      '$.result.code: expected an invite code (binv-...), got "secret"',
    ],
  ])('refuses the server message %j: %s', (value, message) =>
    refuses((v) => serverMessage.parse(v), value, message),
  );

  it.each([
    [
      { type: 'nope' },
      '$.type: expected one of register, map, endpoints, routes, ping, share-create, share-list, share-accept, share-decline, share-revoke, got "nope"',
    ],
    [
      { type: 'register', nodeKey: 'short', discoKey: KEY, hostname: 'a' },
      '$.nodeKey: expected a base64 32-byte key, got "short"',
    ],
    [{ type: 'register', nodeKey: KEY, discoKey: KEY }, '$.hostname: is required'],
    [
      { type: 'register', nodeKey: KEY, discoKey: KEY, hostname: 'bad host' },
      '$.hostname: expected a host name, got "bad host"',
    ],
    [{ type: 'register', nodeKey: KEY, discoKey: KEY, hostname: 'a', admin: true }, '$.admin: unknown field'],
    [
      { type: 'map', endpoints: ['300.1.1.1'] },
      '$.endpoints[0]: expected an endpoint (ip:port or [ip6]:port), got "300.1.1.1"',
    ],
    [{ type: 'map', endpoints: [], since: -1 }, '$.since: must be between 0 and 9007199254740991'],
    [{ type: 'map', endpoints: Array(33).fill('1.2.3.4:5') }, '$.endpoints: must have at most 32 items'],
    [{ type: 'ping', id: 1.5 }, '$.id: expected an integer, got number'],
    [[], '$: expected an object, got an array'],
  ])('refuses %j: %s', (value, message) => refuses((v) => clientMessage.parse(v), value, message));

  it("carries the network's DNS configuration in normal form, in full maps and deltas", () => {
    const full = {
      type: 'full-map',
      seq: 7,
      map: { self: node, peers: [], filter: [], relays: [], dns: DNS },
    };
    expect(serverMessage.parse(full)).toEqual(full);
    const delta = { type: 'delta', seq: 8, dns: { ...DNS, override: true } };
    expect(serverMessage.parse(delta)).toEqual(delta);
    const withDns = (patch: object) => ({ type: 'delta', seq: 8, dns: { ...DNS, ...patch } });
    const parse = (v: unknown) => serverMessage.parse(v);
    refuses(
      parse,
      withDns({ baseDomain: 'Burrow.internal' }),
      '$.dns.baseDomain: expected a lower-case DNS name, got "Burrow.internal"',
    );
    refuses(
      parse,
      withDns({ searchDomains: ['corp.example.'] }),
      '$.dns.searchDomains[0]: expected a lower-case DNS name, got "corp.example."',
    );
    refuses(
      parse,
      withDns({ nameservers: ['10.1.0.53:53'] }),
      '$.dns.nameservers[0]: expected a name server (IP, IPv4:PORT or [IPv6]:PORT), got "10.1.0.53:53"',
    );
    refuses(
      parse,
      withDns({ nameservers: ['dns.example'] }),
      '$.dns.nameservers[0]: expected a name server (IP, IPv4:PORT or [IPv6]:PORT), got "dns.example"',
    );
    refuses(
      parse,
      withDns({ routes: [{ domain: 'corp.example', servers: [] }] }),
      '$.dns.routes[0].servers: must have at least one item',
    );
    refuses(parse, withDns({ upstream: [] }), '$.dns.upstream: unknown field');
    refuses(
      parse,
      withDns({ nameservers: Array(9).fill('10.0.0.1') }),
      '$.dns.nameservers: must have at most 8 items',
    );
  });

  it('reports malformed JSON as a schema error', () => {
    expect(() => parseJson(clientMessage, '{"type": "ping", ')).toThrow(/^\$: not valid JSON/);
  });

  it('never throws anything but SchemaError on random and mutated input', () => {
    const rng = new Rng(42);
    const seeds = [
      JSON.stringify({ type: 'register', nodeKey: KEY, discoKey: KEY, hostname: 'laptop' }),
      JSON.stringify({
        type: 'full-map',
        seq: 1,
        map: { self: node, peers: [node], filter: [], relays: [] },
      }),
      JSON.stringify({ type: 'share-accept', id: 4, code: CODE }),
      JSON.stringify(listReply),
      JSON.stringify({ type: 'delta', seq: 2, dns: DNS }),
    ];
    for (let i = 0; i < 20_000; i++) {
      const chars = [...seeds[rng.int(seeds.length)]!];
      for (let f = 0; f < 1 + rng.int(4); f++)
        chars[rng.int(chars.length)] = String.fromCharCode(32 + rng.int(95));
      for (const schema of [clientMessage, serverMessage]) {
        try {
          parseJson(schema as typeof clientMessage, chars.join(''));
        } catch (error) {
          expect(error).toBeInstanceOf(SchemaError);
        }
      }
    }
  });
});
