import { describe, expect, it } from 'vitest';
import { TYPE } from './constants.js';
import { type DnsMessage, encodeMessage, parseHeader, parseMessage } from './message.js';
import { DnsParseError, type DnsParseReason } from './parse-error.js';

const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

// What `dig +edns=0 +bufsize=1232 example.com A` sends: id abcd, RD, one question, an OPT record.
const QUERY = hex(`
  abcd 0100 0001 0000 0000 0001
  07 6578616d706c65 03 636f6d 00 0001 0001
  00 0029 04d0 00000000 0000`);

function header(over: Partial<DnsMessage['header']> = {}): DnsMessage['header'] {
  return {
    id: 7,
    qr: true,
    opcode: 0,
    aa: true,
    tc: false,
    rd: true,
    ra: true,
    z: false,
    ad: false,
    cd: false,
    rcode: 0,
    ...over,
  };
}

function refused(bytes: Uint8Array): { reason: DnsParseReason; offset: number } {
  try {
    parseMessage(bytes);
  } catch (error) {
    if (error instanceof DnsParseError) return { reason: error.reason, offset: error.offset };
    throw error;
  }
  throw new Error('parsed');
}

describe('DNS messages', () => {
  it('reads a query as a stub resolver sends it, and encodes it back to the same bytes', () => {
    const m = parseMessage(QUERY);
    expect(m.header).toEqual(header({ id: 0xabcd, qr: false, aa: false, ra: false }));
    expect(m.questions).toEqual([{ name: 'example.com', type: TYPE.A, class: 1 }]);
    expect(m.additional).toEqual([]);
    expect(m.opt).toEqual({ udpSize: 1232, extendedRcode: 0, version: 0, flags: 0, options: [] });
    expect(toHex(encodeMessage(m))).toBe(toHex(QUERY));
  });

  it('compresses repeated names into pointers, and follows them when reading', () => {
    const m: DnsMessage = {
      header: header({ rcode: 3 }),
      questions: [{ name: 'Nope.family.burrow.internal', type: TYPE.A, class: 1 }],
      answers: [
        {
          name: 'Nope.family.burrow.internal',
          type: TYPE.A,
          class: 1,
          ttl: 1,
          data: { kind: 'a', address: hex('64400005') },
        },
      ],
      authority: [
        {
          name: 'burrow.internal',
          type: TYPE.SOA,
          class: 1,
          ttl: 1,
          data: {
            kind: 'soa',
            mname: 'burrow.internal',
            rname: 'hostmaster.burrow.internal',
            serial: 9,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 1,
          },
        },
      ],
      additional: [],
      opt: {
        udpSize: 1232,
        extendedRcode: 0,
        version: 0,
        flags: 0x8000,
        options: [{ code: 10, data: hex('0102030405060708') }],
      },
    };
    const bytes = encodeMessage(m);
    const answerAt = 12 + 'Nope.family.burrow.internal'.length + 2 + 4;
    expect(toHex(bytes.subarray(answerAt, answerAt + 2))).toBe('c00c'); // the question's name
    // "burrow.internal" is the question's suffix at 12 + 5 + 7: the SOA's owner, mname and rname's tail point there.
    expect(toHex(bytes)).toContain('c018');
    // Uncompressed, the SOA alone would take 37 bytes more.
    expect(bytes.length).toBe(131);
    expect(parseMessage(bytes)).toEqual(m);
  });

  it('encodes a message of more names than it keeps for compression', () => {
    const records = Array.from({ length: 300 }, (_, i) => ({
      name: `host-${i}.Family.burrow.internal`,
      type: TYPE.A,
      class: 1,
      ttl: 1,
      data: { kind: 'a' as const, address: new Uint8Array([100, 64, i >> 8, i & 0xff]) },
    }));
    const m: DnsMessage = {
      header: header(),
      questions: [],
      answers: records,
      authority: [],
      additional: [],
      opt: null,
    };
    const bytes = encodeMessage(m);
    expect(parseMessage(bytes)).toEqual(m);
    // Past the 128 suffixes kept, later names still point to the ones kept: "Family.burrow.internal"
    // is written once.
    expect(Buffer.from(bytes).toString('latin1').split('Family').length - 1).toBe(1);
  });

  it('keeps label bytes a name cannot show as text, escaped, and case as sent', () => {
    const labels = hex('05 612e625c63 03 20ff41 02 5a7a 00');
    const bytes = new Uint8Array([...hex('0001 0000 0001 0000 0000 0000'), ...labels, ...hex('0010 0001')]);
    const m = parseMessage(bytes);
    expect(m.questions[0]!.name).toBe('a\\.b\\\\c.\\032\\255A.Zz');
    expect(toHex(encodeMessage(m))).toBe(toHex(bytes));
  });

  it('reads only the header when that is all there is to read', () => {
    expect(parseHeader(QUERY.subarray(0, 12)).id).toBe(0xabcd);
    expect(() => parseHeader(QUERY.subarray(0, 11))).toThrow(DnsParseError);
  });

  it('refuses malformed messages, naming what is wrong and where', () => {
    const h = (qd: number, an: number, ns: number, ar: number) =>
      hex(`0001 0000 ${[qd, an, ns, ar].map((n) => n.toString(16).padStart(4, '0')).join('')}`);
    const q = (name: string) => hex(`${name} 0001 0001`);
    const m = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]));
    expect(refused(hex('0001 0000 0001'))).toEqual({ reason: 'too-short', offset: 6 });
    expect(refused(m(h(2, 0, 0, 0), q('00')))).toEqual({ reason: 'counts-exceed-length', offset: 4 });
    expect(refused(m(h(0, 65535, 0, 0), new Uint8Array(100)))).toEqual({
      reason: 'counts-exceed-length',
      offset: 4,
    });
    expect(refused(m(h(1, 0, 0, 0), hex('05 6162 00 00')))).toEqual({
      reason: 'truncated',
      offset: 12,
    });
    expect(refused(m(h(1, 0, 0, 0), hex('01 61 00 0001 00')))).toEqual({ reason: 'truncated', offset: 15 });
    expect(refused(m(h(1, 0, 0, 0), q('41 00')))).toEqual({ reason: 'bad-label-type', offset: 12 });
    // A pointer to itself, one forward, one into the header, and a loop between two names.
    expect(refused(m(h(1, 0, 0, 0), q('c00c')))).toEqual({ reason: 'bad-pointer', offset: 12 });
    expect(refused(m(h(1, 0, 0, 0), q('c00e 00')))).toEqual({ reason: 'bad-pointer', offset: 12 });
    expect(refused(m(h(1, 0, 0, 0), q('c002')))).toEqual({ reason: 'bad-pointer', offset: 12 });
    expect(refused(m(h(2, 0, 0, 0), q('01 61 c014'), q('01 62 c00c')))).toEqual({
      reason: 'bad-pointer',
      offset: 14,
    });
    const label63 = `3f${'61'.repeat(63)}`;
    expect(refused(m(h(1, 0, 0, 0), q(`${label63.repeat(4)}00`)))).toEqual({
      reason: 'name-too-long',
      offset: 204,
    });
    const rr = (type: string, rdata: string, name = '00') =>
      hex(`${name} ${type} 0001 00000001 ${(rdata.length / 2).toString(16).padStart(4, '0')} ${rdata}`);
    expect(refused(m(h(0, 1, 0, 0), rr('0001', '0102030405')))).toEqual({
      reason: 'bad-rdata-length',
      offset: 23,
    });
    expect(refused(m(h(0, 1, 0, 0), rr('000c', '01610000')))).toEqual({
      reason: 'bad-rdata-length',
      offset: 26,
    });
    expect(refused(m(h(0, 1, 0, 0), rr('000c', '0161')))).toEqual({ reason: 'truncated', offset: 25 });
    // A chain of pointers to pointers, each a step back: refused past 127 hops, not walked to its end.
    const base = 12 + 11; // the first record's rdata: a pool of pointers, each to the one before
    const chained = (hops: number) => {
      const pool = Array.from({ length: hops }, (_, i) =>
        i === 0 ? '0000' : (0xc000 | (base + 2 * (i - 1))).toString(16),
      ).join('');
      const last = (0xc000 | (base + 2 * (hops - 1))).toString(16);
      return m(h(0, 2, 0, 0), rr('0063', pool), rr('0063', '', last));
    };
    expect(parseMessage(chained(127)).answers[1]!.name).toBe('');
    expect(refused(chained(128))).toEqual({ reason: 'bad-pointer', offset: base + 2 });
    const opt = rr('0029', '');
    expect(refused(m(h(0, 1, 0, 0), opt))).toEqual({ reason: 'bad-opt', offset: 12 });
    expect(refused(m(h(0, 0, 0, 2), opt, opt))).toEqual({ reason: 'bad-opt', offset: 23 });
    expect(refused(m(h(0, 0, 0, 1), rr('0029', '', '0161 00')))).toEqual({ reason: 'bad-opt', offset: 12 });
    expect(refused(m(h(0, 0, 0, 1), rr('0029', '000a00090102')))).toEqual({ reason: 'bad-opt', offset: 12 });
    expect(refused(m(h(1, 0, 0, 0), q('00'), hex('00')))).toEqual({ reason: 'trailing-bytes', offset: 17 });
  });

  it('refuses to encode what is not a valid name or record', () => {
    const withName = (name: string) => () =>
      encodeMessage({
        header: header(),
        questions: [{ name, type: 1, class: 1 }],
        answers: [],
        authority: [],
        additional: [],
        opt: null,
      });
    for (const bad of [
      'a..b',
      '.a',
      'a.',
      'a b',
      'a\\',
      'a\\x',
      'a\\256',
      'é',
      'x'.repeat(64),
      `${'a.'.repeat(127)}a`,
    ]) {
      expect(withName(bad), bad).toThrow(RangeError);
    }
    expect(withName(`${'x'.repeat(63)}.`.repeat(3) + 'x'.repeat(61))).not.toThrow();
    expect(() =>
      encodeMessage({
        header: header(),
        questions: [],
        answers: [
          { name: '', type: TYPE.AAAA, class: 1, ttl: 0, data: { kind: 'a', address: hex('01020304') } },
        ],
        authority: [],
        additional: [],
        opt: null,
      }),
    ).toThrow(RangeError);
  });
});
