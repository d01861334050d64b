import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { clientMessage, type NodeInfo, serverMessage } from './messages.js';
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

  it.each([
    [{ type: 'nope' }, '$.type: expected one of register, map, endpoints, routes, ping, got "nope"'],
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
  ])('refuses %j: %s', (value, message) => {
    expect(() => clientMessage.parse(value)).toThrow(SchemaError);
    try {
      clientMessage.parse(value);
    } catch (error) {
      expect((error as Error).message).toBe(message);
    }
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
