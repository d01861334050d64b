import { describe, expect, it } from 'vitest';
import {
  DISCO_REFUSALS,
  DiscoError,
  type DiscoMessage,
  type DiscoRefusal,
  encodeDiscoMessage,
  MAX_ENDPOINTS,
  parseDiscoMessage,
} from './message.js';

const TXID = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
const NODE_KEY = Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i);
const MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

const ping: DiscoMessage = { type: 'ping', txid: TXID, nodeKey: NODE_KEY };
const pong: DiscoMessage = { type: 'pong', txid: TXID, src: { host: '192.0.2.7', port: 51820 } };
const callMeMaybe: DiscoMessage = {
  type: 'call-me-maybe',
  endpoints: [
    { host: '2001:db8::1', port: 41641 },
    { host: '192.0.2.7', port: 1 },
  ],
};

function reasonOf(plain: number[] | Uint8Array): DiscoRefusal | 'parsed' {
  try {
    parseDiscoMessage(Uint8Array.from(plain));
    return 'parsed';
  } catch (error) {
    if (error instanceof DiscoError) return error.reason;
    throw error;
  }
}

const endpoint = (port: number) => [...MAPPED, 192, 0, 2, 7, port >>> 8, port & 0xff];

describe('disco message layout', () => {
  it('encodes a ping as type, version, txid and node key', () => {
    expect(Array.from(encodeDiscoMessage(ping))).toEqual([1, 0, ...TXID, ...NODE_KEY]);
  });

  it('encodes a pong with its source as an IPv4-mapped address and a big-endian port', () => {
    expect(Array.from(encodeDiscoMessage(pong))).toEqual([2, 0, ...TXID, ...endpoint(51820)]);
  });

  it('encodes a relayed pong, which has no source address, as 18 zero bytes', () => {
    const relayed: DiscoMessage = { type: 'pong', txid: TXID, src: null };
    expect(Array.from(encodeDiscoMessage(relayed))).toEqual([2, 0, ...TXID, ...new Array(18).fill(0)]);
    expect(parseDiscoMessage(encodeDiscoMessage(relayed))).toEqual(relayed);
  });

  it('encodes a call-me-maybe as 18 bytes per endpoint, IPv6 as is', () => {
    const ipv6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xa2, 0xa9];
    expect(Array.from(encodeDiscoMessage(callMeMaybe))).toEqual([3, 0, ...ipv6, ...endpoint(1)]);
    expect(Array.from(encodeDiscoMessage({ type: 'call-me-maybe', endpoints: [] }))).toEqual([3, 0]);
  });

  it('encodes a call-me-maybe with kinds as version 1, 19 bytes per endpoint, the kind last', () => {
    const kinded: DiscoMessage = {
      type: 'call-me-maybe',
      endpoints: [
        { host: '192.0.2.7', port: 80, kind: 'port-mapping' },
        { host: '192.0.2.7', port: 81, kind: 'stun' },
        { host: '192.0.2.7', port: 82, kind: 'local' },
      ],
    };
    const bytes = [3, 1, ...endpoint(80), 3, ...endpoint(81), 2, ...endpoint(82), 1];
    expect(Array.from(encodeDiscoMessage(kinded))).toEqual(bytes);
    expect(parseDiscoMessage(Uint8Array.from(bytes))).toEqual(kinded);
    // Kinds for every endpoint or none; only known kinds.
    const some = { type: 'call-me-maybe', endpoints: [kinded.endpoints[0], { host: '192.0.2.7', port: 1 }] };
    expect(() => encodeDiscoMessage(some as DiscoMessage)).toThrow(RangeError);
    const odd = { type: 'call-me-maybe', endpoints: [{ host: '192.0.2.7', port: 1, kind: 'relay' }] };
    expect(() => encodeDiscoMessage(odd as unknown as DiscoMessage)).toThrow(RangeError);
  });

  it('round-trips every message type', () => {
    const full: DiscoMessage = {
      type: 'call-me-maybe',
      endpoints: Array.from({ length: MAX_ENDPOINTS }, (_, i) => ({ host: `10.0.0.${i}`, port: 1000 + i })),
    };
    const all: DiscoMessage[] = [ping, pong, callMeMaybe, full, { type: 'call-me-maybe', endpoints: [] }];
    for (const message of all) {
      const encoded = encodeDiscoMessage(message);
      const parsed = parseDiscoMessage(encoded);
      expect(parsed).toEqual(message);
      expect(encodeDiscoMessage(parsed)).toEqual(encoded);
    }
    expect(encodeDiscoMessage(full)).toHaveLength(2 + 18 * 32);
  });

  it('copies byte fields out of the parsed buffer', () => {
    const encoded = encodeDiscoMessage(ping);
    const parsed = parseDiscoMessage(encoded);
    encoded.fill(0xee);
    expect(parsed).toEqual(ping);
  });
});

describe('disco endpoints as text', () => {
  const cases: [written: string, parsed: string][] = [
    ['192.0.2.7', '192.0.2.7'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80::1:2:3:4', 'fe80::1:2:3:4'],
    ['::1', '::1'],
    ['::', '::'],
    // The same 16 bytes as 192.0.2.7, which is what a dual-stack socket reports for it.
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::ffff:c000:207', '192.0.2.7'],
    // Not IPv4-mapped: stays IPv6.
    ['::192.0.2.7', '::c000:207'],
    ['64:ff9b::192.0.2.7', '64:ff9b::c000:207'],
  ];

  it.each(cases)('%s comes back as %s', (written, expected) => {
    const message = parseDiscoMessage(
      encodeDiscoMessage({ type: 'pong', txid: TXID, src: { host: written, port: 65535 } }),
    );
    expect(message).toEqual({ type: 'pong', txid: TXID, src: { host: expected, port: 65535 } });
  });
});

describe('disco message parsing refuses by name', () => {
  const ipv4Pong = [2, 0, ...TXID, ...endpoint(80)];
  const crafted: [DiscoRefusal, number[]][] = [
    ['truncated', []],
    ['truncated', [1]],
    ['truncated', [1, 0, ...TXID, ...NODE_KEY.subarray(1)]],
    ['truncated', ipv4Pong.slice(0, -1)],
    ['truncated', [3, 0, ...endpoint(80).slice(0, 17)]],
    ['truncated', [3, 0, ...endpoint(80), 0]],
    ['unknown-type', [0, 0]],
    ['unknown-type', [4, 0, ...TXID, ...NODE_KEY]],
    ['unknown-type', [0xff, 0]],
    ['bad-version', [1, 1, ...TXID, ...NODE_KEY]],
    ['bad-version', [3, 0xff]],
    ['trailing-bytes', [1, 0, ...TXID, ...NODE_KEY, 0]],
    ['trailing-bytes', [...ipv4Pong, 0]],
    ['too-many-endpoints', [3, 0, ...Array.from({ length: 33 }, () => endpoint(80)).flat()]],
    ['bad-port', [2, 0, ...TXID, ...endpoint(0)]],
    ['bad-port', [3, 0, ...endpoint(80), ...endpoint(0)]],
    // A call-me-maybe with kinds (version 1): 19 bytes an endpoint, at least one, a kind from 1 to 3.
    ['truncated', [3, 1]],
    ['truncated', [3, 1, ...endpoint(80)]],
    ['bad-version', [1, 1, ...TXID, ...NODE_KEY]],
    ['bad-version', [2, 1, ...TXID, ...endpoint(80)]],
    ['too-many-endpoints', [3, 1, ...Array.from({ length: 33 }, () => [...endpoint(80), 1]).flat()]],
    ['bad-port', [3, 1, ...endpoint(0), 1]],
    ['bad-kind', [3, 1, ...endpoint(80), 0]],
    ['bad-kind', [3, 1, ...endpoint(80), 1, ...endpoint(81), 4]],
  ];

  it.each(crafted)('%s: %j', (reason, plain) => {
    expect(reasonOf(plain)).toBe(reason);
  });

  it('reaches every reason', () => {
    expect(new Set(crafted.map(([reason]) => reason))).toEqual(new Set(DISCO_REFUSALS));
  });

  it('names the reason in the error', () => {
    expect(() => parseDiscoMessage(new Uint8Array([9, 0]))).toThrow('malformed disco message: unknown-type');
  });
});

describe('disco message encoding refuses bad arguments', () => {
  const bad: [string, DiscoMessage][] = [
    ['short txid', { type: 'ping', txid: new Uint8Array(11), nodeKey: NODE_KEY }],
    ['long node key', { type: 'ping', txid: TXID, nodeKey: new Uint8Array(33) }],
    ['port 0', { type: 'pong', txid: TXID, src: { host: '192.0.2.7', port: 0 } }],
    ['port 65536', { type: 'pong', txid: TXID, src: { host: '192.0.2.7', port: 65536 } }],
    ['fractional port', { type: 'pong', txid: TXID, src: { host: '192.0.2.7', port: 1.5 } }],
    ['hostname', { type: 'pong', txid: TXID, src: { host: 'example.com', port: 1 } }],
    ['prefix', { type: 'pong', txid: TXID, src: { host: '10.0.0.1/32', port: 1 } }],
    ['brackets', { type: 'pong', txid: TXID, src: { host: '[2001:db8::1]', port: 1 } }],
    ['zone', { type: 'pong', txid: TXID, src: { host: 'fe80::1%eth0', port: 1 } }],
    ['whitespace', { type: 'pong', txid: TXID, src: { host: ' 10.0.0.1', port: 1 } }],
    ['leading zero', { type: 'pong', txid: TXID, src: { host: '10.0.0.01', port: 1 } }],
    ['empty host', { type: 'pong', txid: TXID, src: { host: '', port: 1 } }],
    ['non-string host', { type: 'pong', txid: TXID, src: { host: 7 as unknown as string, port: 1 } }],
    [
      '33 endpoints',
      { type: 'call-me-maybe', endpoints: Array.from({ length: 33 }, () => ({ host: '10.0.0.1', port: 1 })) },
    ],
    ['bad endpoint in a list', { type: 'call-me-maybe', endpoints: [{ host: '10.0.0.1', port: 0 }] }],
    ['unknown type', { type: 'hello' } as unknown as DiscoMessage],
  ];

  it.each(bad)('%s', (_, message) => {
    expect(() => encodeDiscoMessage(message)).toThrow(RangeError);
  });
});
