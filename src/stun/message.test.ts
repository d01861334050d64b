import { describe, expect, it } from 'vitest';
import { encodeAddress } from './address.js';
import {
  answerBindingRequest,
  buildBindingError,
  buildBindingRequest,
  buildBindingSuccess,
  readBindingResponse,
} from './binding.js';
import { crc32 } from './crc32.js';
import {
  ATTR,
  encodeStunMessage,
  FINGERPRINT_XOR,
  MAGIC_COOKIE,
  parseStunMessage,
  type StunClass,
} from './message.js';
import { STUN_REFUSALS, type StunRefusal } from './refusals.js';

const TXID = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
const SOURCE = { host: '203.0.113.7', port: 40000 };

type Piece = [type: number, value: ArrayLike<number>] | 'fingerprint' | { raw: number[] };

/**
 * A message laid out by hand, for the shapes the builders refuse to make: `pieces` are attributes
 * (padded with zeros), raw bytes, or a FINGERPRINT computed over what precedes it. The header's
 * length is the body's unless `length` says otherwise.
 */
function craft(type: number, pieces: Piece[], options: { length?: number; cookie?: number } = {}) {
  const body: number[] = [];
  const fingerprintsAt: number[] = [];
  for (const piece of pieces) {
    if (piece === 'fingerprint') {
      fingerprintsAt.push(20 + body.length);
      body.push(0x80, 0x28, 0, 4, 0, 0, 0, 0);
    } else if ('raw' in piece) {
      body.push(...piece.raw);
    } else {
      const [attrType, value] = piece;
      body.push(attrType >> 8, attrType & 0xff, value.length >> 8, value.length & 0xff, ...Array.from(value));
      while (body.length % 4 !== 0) body.push(0);
    }
  }
  const out = new Uint8Array(20 + body.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, type);
  view.setUint16(2, options.length ?? body.length);
  view.setUint32(4, options.cookie ?? MAGIC_COOKIE);
  out.set(TXID, 8);
  out.set(body, 20);
  for (const at of fingerprintsAt)
    view.setUint32(at + 4, (crc32(out.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0);
  return out;
}

const REQUEST = 0x0001;
const SUCCESS = 0x0101;
const ERROR = 0x0111;
const XOR_V4 = encodeAddress(SOURCE, TXID);

describe('STUN message round trip', () => {
  it('builds and parses a Binding Request, with and without SOFTWARE', () => {
    for (const software of [undefined, '', 'burrow 0.1', 'x'.repeat(763)]) {
      const bytes = buildBindingRequest(TXID, software);
      const parsed = parseStunMessage(bytes);
      if (!parsed.ok) throw new Error(parsed.reason);
      expect(parsed.message).toMatchObject({
        method: 1,
        class: 'request',
        transactionId: TXID,
        fingerprint: true,
      });
      const attributes =
        software === undefined ? [] : [{ type: ATTR.SOFTWARE, value: new TextEncoder().encode(software) }];
      expect(parsed.message.attributes).toEqual(attributes);
    }
  });

  it('answers a request with the source as XOR-MAPPED-ADDRESS, IPv4 and IPv6', () => {
    for (const source of [
      SOURCE,
      { host: '0.0.0.0', port: 0 },
      { host: '255.255.255.255', port: 65535 },
      { host: '2001:db8::1', port: 3478 },
      { host: '::ffff:192.0.2.1', port: 1 },
    ]) {
      const reply = answerBindingRequest(buildBindingRequest(TXID), source, 'burrow');
      if (reply.reply !== 'success') throw new Error(`no success for ${source.host}`);
      expect(readBindingResponse(reply.response)).toEqual({
        kind: 'success',
        transactionId: TXID,
        mapped: source,
      });
    }
  });

  it('reads MAPPED-ADDRESS when XOR-MAPPED-ADDRESS is absent, and prefers XOR when both are there', () => {
    const plain = encodeAddress({ host: '198.51.100.9', port: 1234 });
    const only = encodeStunMessage({
      method: 1,
      class: 'success',
      transactionId: TXID,
      attributes: [{ type: ATTR.MAPPED_ADDRESS, value: plain }],
    });
    expect(readBindingResponse(only)).toMatchObject({ mapped: { host: '198.51.100.9', port: 1234 } });
    const both = encodeStunMessage({
      method: 1,
      class: 'success',
      transactionId: TXID,
      attributes: [
        { type: ATTR.MAPPED_ADDRESS, value: plain },
        { type: ATTR.XOR_MAPPED_ADDRESS, value: XOR_V4 },
      ],
    });
    expect(readBindingResponse(both)).toMatchObject({ mapped: SOURCE });
  });

  it('round-trips every method and class through the interleaved type bits', () => {
    const classes: StunClass[] = ['request', 'indication', 'success', 'error'];
    for (let method = 0; method <= 0xfff; method += 0x111) {
      for (const cls of classes) {
        const parsed = parseStunMessage(
          encodeStunMessage({ method, class: cls, transactionId: TXID, attributes: [] }),
        );
        expect(parsed).toMatchObject({ ok: true, message: { method, class: cls } });
      }
    }
  });

  it('pads attributes of every length and returns their values unpadded', () => {
    const attributes = Array.from({ length: 9 }, (_, n) => ({
      type: 0x8000 + n,
      value: Uint8Array.from({ length: n }, () => 0xab),
    }));
    const bytes = encodeStunMessage({ method: 1, class: 'indication', transactionId: TXID, attributes });
    expect(bytes.length % 4).toBe(0);
    expect(parseStunMessage(bytes)).toMatchObject({ ok: true, message: { attributes } });
  });

  it('builds an error response that a client reads back', () => {
    const bytes = buildBindingError(TXID, 420, 'Unknown Attribute', [0x0002, 0x0003, 0x7fff]);
    expect(readBindingResponse(bytes)).toEqual({ kind: 'error', transactionId: TXID, code: 420 });
  });

  it('accepts what RFC 5389 says to accept: any padding bytes, messages without FINGERPRINT', () => {
    const padded = craft(SUCCESS, [
      { raw: [0x80, 0x22, 0, 1, 0x61, 0xff, 0xff, 0xff] },
      [ATTR.XOR_MAPPED_ADDRESS, XOR_V4],
    ]);
    expect(readBindingResponse(padded)).toMatchObject({ kind: 'success', mapped: SOURCE });
    expect(parseStunMessage(craft(REQUEST, []))).toMatchObject({ ok: true, message: { fingerprint: false } });
  });

  it('uses the first of duplicate attributes and ignores those after MESSAGE-INTEGRITY', () => {
    const other = encodeAddress({ host: '192.0.2.99', port: 9 }, TXID);
    const duplicate = craft(SUCCESS, [
      [ATTR.XOR_MAPPED_ADDRESS, XOR_V4],
      [ATTR.XOR_MAPPED_ADDRESS, other],
    ]);
    expect(readBindingResponse(duplicate)).toMatchObject({ mapped: SOURCE });
    // An unknown required attribute after MESSAGE-INTEGRITY is ignored, so no 420.
    const afterIntegrity = craft(REQUEST, [
      [ATTR.MESSAGE_INTEGRITY, new Uint8Array(20)],
      [0x0003, [0, 0, 0, 0]],
      'fingerprint',
    ]);
    const parsed = parseStunMessage(afterIntegrity);
    expect(parsed).toMatchObject({ ok: true, message: { fingerprint: true } });
    expect(parsed.ok && parsed.message.attributes.map((a) => a.type)).toEqual([ATTR.MESSAGE_INTEGRITY]);
    expect(answerBindingRequest(afterIntegrity, SOURCE).reply).toBe('success');
  });

  it('throws RangeError for bad arguments to the builders', () => {
    expect(() => buildBindingRequest(new Uint8Array(11))).toThrow(RangeError);
    expect(() => buildBindingRequest(TXID, 'x'.repeat(764))).toThrow(RangeError);
    expect(() => buildBindingSuccess(TXID, { host: '192.0.2.1', port: 65536 })).toThrow(RangeError);
    expect(() => buildBindingSuccess(TXID, { host: 'example.com', port: 1 })).toThrow(RangeError);
    expect(() => buildBindingSuccess(TXID, { host: '10.0.0.0/8', port: 1 })).toThrow(RangeError);
    expect(() => buildBindingError(TXID, 299, 'x')).toThrow(RangeError);
    expect(() =>
      encodeStunMessage({
        method: 1,
        class: 'request',
        transactionId: TXID,
        attributes: [{ type: ATTR.FINGERPRINT, value: new Uint8Array(4) }],
      }),
    ).toThrow(RangeError);
    expect(() =>
      encodeStunMessage({ method: 0x1000, class: 'request', transactionId: TXID, attributes: [] }),
    ).toThrow(RangeError);
  });
});

type Reader = 'parse' | 'server' | 'client';

/** One malformed datagram per refusal reason, and who refuses it. */
const MALFORMED: { name: string; bytes: Uint8Array; by: Reader; reason: StunRefusal }[] = [
  { name: 'empty datagram', bytes: new Uint8Array(0), by: 'parse', reason: 'too-short' },
  { name: '19 bytes', bytes: craft(REQUEST, []).subarray(0, 19), by: 'parse', reason: 'too-short' },
  { name: 'first bit set', bytes: craft(0x8001, []), by: 'parse', reason: 'leading-bits-set' },
  { name: 'second bit set', bytes: craft(0x4001, []), by: 'parse', reason: 'leading-bits-set' },
  {
    name: 'RFC 3489 (no cookie)',
    bytes: craft(REQUEST, [], { cookie: 0x01020304 }),
    by: 'parse',
    reason: 'bad-magic-cookie',
  },
  {
    name: 'length 2',
    bytes: craft(REQUEST, [{ raw: [0, 0] }]),
    by: 'parse',
    reason: 'length-not-multiple-of-4',
  },
  {
    name: 'length past the datagram',
    bytes: craft(REQUEST, [], { length: 4 }),
    by: 'parse',
    reason: 'length-mismatch',
  },
  {
    name: 'bytes past the length',
    bytes: craft(REQUEST, [{ raw: [0, 0, 0, 0] }], { length: 0 }),
    by: 'parse',
    reason: 'length-mismatch',
  },
  {
    name: 'attribute value past the end',
    bytes: craft(REQUEST, [{ raw: [0x80, 0x22, 0, 8, 1, 2, 3, 4] }]),
    by: 'parse',
    reason: 'truncated-attribute',
  },
  {
    name: 'padding past the end',
    bytes: craft(REQUEST, [{ raw: [0x80, 0x22, 0, 5, 1, 2, 3, 4] }]),
    by: 'parse',
    reason: 'truncated-attribute',
  },
  {
    name: 'attribute after FINGERPRINT',
    bytes: craft(REQUEST, ['fingerprint', [ATTR.SOFTWARE, [0x61]]]),
    by: 'parse',
    reason: 'attribute-after-fingerprint',
  },
  {
    name: 'FINGERPRINT of 8 bytes',
    bytes: craft(REQUEST, [[ATTR.FINGERPRINT, new Uint8Array(8)]]),
    by: 'parse',
    reason: 'bad-fingerprint-length',
  },
  {
    name: 'FINGERPRINT of zeros',
    bytes: craft(REQUEST, [[ATTR.FINGERPRINT, new Uint8Array(4)]]),
    by: 'parse',
    reason: 'fingerprint-mismatch',
  },
  { name: 'Allocate request', bytes: craft(0x0003, ['fingerprint']), by: 'server', reason: 'not-binding' },
  { name: 'Binding indication', bytes: craft(0x0011, []), by: 'server', reason: 'unexpected-class' },
  {
    name: 'Binding response sent to the server',
    bytes: craft(SUCCESS, [[ATTR.XOR_MAPPED_ADDRESS, XOR_V4]]),
    by: 'server',
    reason: 'unexpected-class',
  },
  {
    name: 'Binding request sent to the client',
    bytes: craft(REQUEST, []),
    by: 'client',
    reason: 'unexpected-class',
  },
  {
    name: 'CHANGE-REQUEST in a request (answered with 420)',
    bytes: craft(REQUEST, [[0x0003, [0, 0, 0, 6]]]),
    by: 'server',
    reason: 'unknown-required-attribute',
  },
  {
    name: 'unknown required attribute in a success response',
    bytes: craft(SUCCESS, [
      [0x7fff, []],
      [ATTR.XOR_MAPPED_ADDRESS, XOR_V4],
    ]),
    by: 'client',
    reason: 'unknown-required-attribute',
  },
  {
    name: 'address family 3',
    bytes: craft(SUCCESS, [[ATTR.XOR_MAPPED_ADDRESS, [0, 3, 0, 1, 1, 2, 3, 4]]]),
    by: 'client',
    reason: 'bad-address-family',
  },
  {
    name: 'IPv4 address of 5 bytes',
    bytes: craft(SUCCESS, [[ATTR.XOR_MAPPED_ADDRESS, [0, 1, 0, 1, 1, 2, 3, 4, 5]]]),
    by: 'client',
    reason: 'bad-address-length',
  },
  {
    name: 'IPv6 address of 4 bytes',
    bytes: craft(SUCCESS, [[ATTR.MAPPED_ADDRESS, [0, 2, 0, 1, 1, 2, 3, 4]]]),
    by: 'client',
    reason: 'bad-address-length',
  },
  {
    name: 'address attribute of 2 bytes',
    bytes: craft(SUCCESS, [[ATTR.XOR_MAPPED_ADDRESS, [0, 1]]]),
    by: 'client',
    reason: 'bad-address-length',
  },
  {
    name: 'success without an address',
    bytes: craft(SUCCESS, [[ATTR.SOFTWARE, [0x61]]]),
    by: 'client',
    reason: 'missing-mapped-address',
  },
  {
    name: 'success for another method',
    bytes: craft(0x0103, [[ATTR.XOR_MAPPED_ADDRESS, XOR_V4]]),
    by: 'client',
    reason: 'not-binding',
  },
  { name: 'error without ERROR-CODE', bytes: craft(ERROR, []), by: 'client', reason: 'bad-error-code' },
  {
    name: 'error code class 7',
    bytes: craft(ERROR, [[ATTR.ERROR_CODE, [0, 0, 7, 0]]]),
    by: 'client',
    reason: 'bad-error-code',
  },
  {
    name: 'error code number 100',
    bytes: craft(ERROR, [[ATTR.ERROR_CODE, [0, 0, 4, 100]]]),
    by: 'client',
    reason: 'bad-error-code',
  },
];

function refusalOf(by: Reader, bytes: Uint8Array): StunRefusal | null {
  if (by === 'parse') {
    const parsed = parseStunMessage(bytes);
    return parsed.ok ? null : parsed.reason;
  }
  if (by === 'server') {
    const reply = answerBindingRequest(bytes, SOURCE);
    return reply.reply === 'success' ? null : reply.reason;
  }
  const response = readBindingResponse(bytes);
  return response.kind === 'refused' ? response.reason : null;
}

describe('malformed STUN messages', () => {
  it.each(MALFORMED)('refuses $name: $reason', ({ bytes, by, reason }) => {
    expect(refusalOf(by, bytes)).toBe(reason);
    // What parsing refuses, the server ignores, and the client reads as a refusal.
    if (by === 'parse') {
      expect(answerBindingRequest(bytes, SOURCE)).toEqual({ reply: 'none', reason });
      expect(readBindingResponse(bytes)).toEqual({ kind: 'refused', reason });
    }
  });

  it('covers every refusal reason', () => {
    expect(new Set(MALFORMED.map((m) => m.reason))).toEqual(new Set(STUN_REFUSALS));
  });
});
