/**
 * The DNS parser under fuzz: random bytes, mutated valid messages and truncations never make it
 * throw anything but a DnsParseError, and whatever it accepts encodes and parses back to itself, as
 * do generated messages.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { TYPE } from './constants.js';
import { type DnsMessage, type DnsRecord, encodeMessage, parseMessage } from './message.js';
import { DNS_PARSE_REASONS, DnsParseError, type DnsParseReason } from './parse-error.js';

const MESSAGES = 40_000;
const SEED = 0x444e5331;
// Labels drawn often, so that names share suffixes and compression has work; with escapes.
const LABELS = [
  'webcam',
  'WebCam',
  'family',
  'burrow',
  'internal',
  'a\\.b',
  'x\\032y',
  '\\255',
  'in-addr',
  'arpa',
];
const OPAQUE_TYPES = [TYPE.NS, TYPE.CNAME, TYPE.MX, TYPE.TXT, 99, 65, 64];

function label(rng: Rng): string {
  if (rng.chance(0.7)) return rng.pick(LABELS);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
  const n = rng.chance(0.05) ? 63 : 1 + rng.int(12);
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[rng.int(alphabet.length)];
  return out;
}

/** A name of up to 5 labels, kept within 255 wire bytes; now and then one close to that bound. */
function name(rng: Rng): string {
  if (rng.chance(0.03))
    return [...Array.from({ length: 3 }, () => 'x'.repeat(63)), label(rng).slice(0, 40)].join('.');
  const labels: string[] = [];
  let wire = 1;
  for (let n = rng.int(6); n > 0; n--) {
    const l = label(rng);
    if (wire + l.length + 1 > 255) break;
    wire += l.length + 1;
    labels.push(l);
  }
  return labels.join('.');
}

function record(rng: Rng): DnsRecord {
  const owner = name(rng);
  const ttl = rng.u32();
  switch (rng.int(5)) {
    case 0:
      return { name: owner, type: TYPE.A, class: 1, ttl, data: { kind: 'a', address: rng.bytes(4) } };
    case 1:
      return { name: owner, type: TYPE.AAAA, class: 1, ttl, data: { kind: 'aaaa', address: rng.bytes(16) } };
    case 2:
      return {
        name: owner,
        type: TYPE.PTR,
        class: rng.pick([1, 3]),
        ttl,
        data: { kind: 'ptr', target: name(rng) },
      };
    case 3: {
      const [serial, refresh, retry, expire, minimum] = [
        rng.u32(),
        rng.u32(),
        rng.u32(),
        rng.u32(),
        rng.u32(),
      ];
      return {
        name: owner,
        type: TYPE.SOA,
        class: 1,
        ttl,
        data: { kind: 'soa', mname: name(rng), rname: name(rng), serial, refresh, retry, expire, minimum },
      };
    }
    default:
      return {
        name: owner,
        type: rng.pick(OPAQUE_TYPES),
        class: rng.pick([1, 3, 254]),
        ttl,
        data: { kind: 'opaque', bytes: rng.bytes(rng.int(40)) },
      };
  }
}

function message(rng: Rng): DnsMessage {
  const list = <T>(max: number, make: () => T) => Array.from({ length: rng.int(max + 1) }, make);
  return {
    header: {
      id: rng.int(0x10000),
      qr: rng.chance(0.5),
      opcode: rng.int(16),
      aa: rng.chance(0.5),
      tc: rng.chance(0.5),
      rd: rng.chance(0.5),
      ra: rng.chance(0.5),
      z: rng.chance(0.1),
      ad: rng.chance(0.5),
      cd: rng.chance(0.5),
      rcode: rng.int(16),
    },
    questions: list(2, () => ({
      name: name(rng),
      type: rng.pick([1, 28, 12, 6, 255, 16]),
      class: rng.pick([1, 255]),
    })),
    answers: list(4, () => record(rng)),
    authority: list(2, () => record(rng)),
    additional: list(2, () => record(rng)),
    opt: rng.chance(0.5)
      ? {
          udpSize: rng.int(0x10000),
          extendedRcode: rng.int(256),
          version: rng.int(2),
          flags: rng.int(0x10000),
          options: list(2, () => ({ code: rng.int(0x10000), data: rng.bytes(rng.int(12)) })),
        }
      : null,
  };
}

function mutate(rng: Rng, base: Uint8Array): Uint8Array {
  let bytes = base.slice();
  switch (rng.int(5)) {
    case 0:
      for (let n = 1 + rng.int(4); n > 0; n--) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
      break;
    case 1:
      for (let n = 1 + rng.int(3); n > 0; n--) bytes[rng.int(bytes.length)] = rng.int(256);
      break;
    case 2:
      bytes = bytes.slice(0, rng.int(bytes.length + 1));
      break;
    case 3: {
      // A compression pointer somewhere past the header, to anywhere.
      const at = 12 + rng.int(Math.max(1, bytes.length - 13));
      if (at + 1 < bytes.length) {
        bytes[at] = 0xc0 | rng.int(0x40);
        bytes[at + 1] = rng.int(256);
      }
      break;
    }
    default:
      bytes = new Uint8Array([...bytes, ...rng.bytes(1 + rng.int(8))]);
  }
  return bytes;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

describe('DNS parsing under fuzz', () => {
  it('encodes generated messages so that they parse back to themselves', () => {
    const rng = new Rng(SEED);
    for (let i = 0; i < 3000; i++) {
      const m = message(rng);
      expect(parseMessage(encodeMessage(m))).toEqual(m);
    }
  });

  it(`refuses ${MESSAGES} random, mutated and truncated messages by name, never throwing otherwise`, () => {
    const rng = new Rng(SEED + 1);
    const corpus = Array.from({ length: 64 }, () => encodeMessage(message(rng)));
    const reasons = new Map<DnsParseReason, number>();
    let parsed = 0;
    for (let i = 0; i < MESSAGES; i++) {
      const roll = rng.next();
      const bytes = roll < 0.15 ? rng.bytes(rng.int(80)) : mutate(rng, rng.pick(corpus));
      try {
        const m = parseMessage(bytes);
        parsed++;
        // What the parser accepts, the encoder takes, and it reads back the same.
        check(JSON.stringify(parseMessage(encodeMessage(m))) === JSON.stringify(m), 'round trip differs');
      } catch (error) {
        if (!(error instanceof DnsParseError)) {
          throw new Error(
            `message ${i} (seed ${SEED}) ${Buffer.from(bytes).toString('hex')}: ${String(error)}`,
            {
              cause: error,
            },
          );
        }
        check(
          error.offset >= 0 && error.offset <= bytes.length,
          `offset ${error.offset} outside the message`,
        );
        reasons.set(error.reason, (reasons.get(error.reason) ?? 0) + 1);
      }
    }
    expect(parsed).toBeGreaterThan(MESSAGES / 10);
    expect(DNS_PARSE_REASONS.filter((r) => !reasons.has(r))).toEqual([]);
  });
});
