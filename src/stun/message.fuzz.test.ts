import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { encodeAddress } from './address.js';
import {
  answerBindingRequest,
  buildBindingError,
  buildBindingRequest,
  buildBindingSuccess,
  readBindingResponse,
  UNKNOWN_ATTRIBUTE,
} from './binding.js';
import { crc32 } from './crc32.js';
import { isStunPacket } from './detect.js';
import {
  ATTR,
  encodeStunMessage,
  FINGERPRINT_XOR,
  MAGIC_COOKIE,
  parseStunMessage,
  type StunClass,
} from './message.js';
import { STUN_REFUSALS, type StunRefusal } from './refusals.js';

const MESSAGES = 50_000;
const SEED = 0x5354554e;
const SOURCE = { host: '198.51.100.20', port: 51820 };
const HEADER_REFUSALS: StunRefusal[] = [
  'too-short',
  'leading-bits-set',
  'bad-magic-cookie',
  'length-not-multiple-of-4',
  'length-mismatch',
];
const CLASSES: StunClass[] = ['request', 'indication', 'success', 'error'];
// Attribute types worth drawing more often than a random 16-bit one would be.
const TYPES = [...Object.values(ATTR).filter((t) => t !== ATTR.FINGERPRINT), 0x0002, 0x0003, 0x0024, 0x8029];

function corpus(rng: Rng): Uint8Array[] {
  const txid = () => rng.bytes(12);
  const out: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) {
    const id = txid();
    out.push(
      buildBindingRequest(id),
      buildBindingRequest(id, 'burrow 0.1'),
      buildBindingSuccess(id, SOURCE, 'burrow'),
      buildBindingSuccess(id, { host: '2001:db8::7', port: 3478 }),
      buildBindingError(id, UNKNOWN_ATTRIBUTE, 'Unknown Attribute', [0x0003]),
      encodeStunMessage({
        method: 1,
        class: 'success',
        transactionId: id,
        attributes: [{ type: ATTR.MAPPED_ADDRESS, value: encodeAddress(SOURCE) }],
      }),
    );
  }
  return out;
}

/** A well-framed message with random attributes, so the checks past framing get exercised. */
function randomAttributes(rng: Rng): Uint8Array {
  const attributes = Array.from({ length: rng.int(5) }, () => {
    const type = rng.chance(0.7) ? rng.pick(TYPES) : rng.int(0x8028);
    const address = type === ATTR.XOR_MAPPED_ADDRESS || type === ATTR.MAPPED_ADDRESS;
    const value = rng.bytes(address && rng.chance(0.7) ? rng.pick([8, 20]) : rng.int(24));
    if (address && rng.chance(0.8)) value[1] = rng.pick([1, 2]);
    return { type, value };
  });
  const method = rng.chance(0.8) ? 1 : rng.int(0x1000);
  return encodeStunMessage({ method, class: rng.pick(CLASSES), transactionId: rng.bytes(12), attributes });
}

/** Recomputes a trailing FINGERPRINT, so that a mutation reaches the checks behind the CRC. */
function refingerprint(bytes: Uint8Array): void {
  const at = bytes.length - 8;
  if (at < 20 || bytes[at] !== 0x80 || bytes[at + 1] !== 0x28 || bytes[at + 2] !== 0 || bytes[at + 3] !== 4)
    return;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(
    at + 4,
    (crc32(bytes.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0,
  );
}

function mutate(rng: Rng, base: Uint8Array): Uint8Array {
  let bytes = base.slice();
  switch (rng.int(4)) {
    case 0:
      for (let n = 1 + rng.int(4); n > 0; n--) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
      break;
    case 1:
      for (let n = 1 + rng.int(3); n > 0; n--) bytes[20 + rng.int(bytes.length - 20)] = rng.int(256);
      break;
    case 2:
      bytes = bytes.slice(0, rng.int(bytes.length + 1));
      break;
    default:
      bytes = new Uint8Array([...bytes, ...rng.bytes(rng.pick([1, 4, 8]))]);
  }
  // Half the time, the header's length is made to fit again.
  if (bytes.length >= 4 && rng.chance(0.5))
    new DataView(bytes.buffer).setUint16(2, (bytes.length - 20) & 0xffff);
  if (rng.chance(0.7)) refingerprint(bytes);
  return bytes;
}

function randomDatagram(rng: Rng): Uint8Array {
  const bytes = rng.bytes(rng.int(100));
  if (bytes.length >= 20 && rng.chance(0.5)) {
    const view = new DataView(bytes.buffer);
    bytes[0]! &= 0x3f;
    view.setUint32(4, MAGIC_COOKIE);
    if (rng.chance(0.8)) view.setUint16(2, bytes.length - 20);
  }
  return bytes;
}

const KNOWN: ReadonlySet<string> = new Set(STUN_REFUSALS);

// Plain checks rather than expect(): a quarter of a million of those would take most of the run.
function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('STUN parsing under fuzz', () => {
  it(`refuses ${MESSAGES} random and mutated datagrams by name, never throwing`, () => {
    const rng = new Rng(SEED);
    const base = corpus(rng);
    const refusals = new Map<StunRefusal, number>();
    const count = (reason: StunRefusal) => {
      check(KNOWN.has(reason), `unnamed reason ${reason}`);
      refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
    };
    let answered = 0;
    let read = 0;
    for (let i = 0; i < MESSAGES; i++) {
      const roll = rng.next();
      const datagram =
        roll < 0.2 ? randomDatagram(rng) : roll < 0.4 ? randomAttributes(rng) : mutate(rng, rng.pick(base));
      try {
        const parsed = parseStunMessage(datagram);
        if (parsed.ok) check(isStunPacket(datagram), 'parsed but not STUN');
        else {
          count(parsed.reason);
          check(
            isStunPacket(datagram) === !HEADER_REFUSALS.includes(parsed.reason),
            'isStunPacket disagrees',
          );
        }

        const reply = answerBindingRequest(datagram, SOURCE);
        if (reply.reply === 'none') check(KNOWN.has(reply.reason), `unnamed reason ${reply.reason}`);
        else {
          answered++;
          const answer = readBindingResponse(reply.response);
          const sameTransaction =
            answer.kind !== 'refused' && equal(answer.transactionId, datagram.subarray(8, 20));
          const mapped =
            answer.kind === 'success' &&
            answer.mapped.host === SOURCE.host &&
            answer.mapped.port === SOURCE.port;
          const matches =
            reply.reply === 'success' ? mapped : answer.kind === 'error' && answer.code === UNKNOWN_ATTRIBUTE;
          check(sameTransaction && matches, `bad ${reply.reply} reply`);
        }

        const response = readBindingResponse(datagram);
        if (response.kind === 'refused') count(response.reason);
        else if (response.kind === 'success') {
          read++;
          // A mapped address read from the wire is one we could encode again (this throws if not).
          encodeAddress(response.mapped);
        }
      } catch (error) {
        throw new Error(`datagram ${i} (seed ${SEED}) ${hex(datagram)}: ${String(error)}`, { cause: error });
      }
    }
    // The mix reaches past framing: answers, reads, and nearly every reason.
    expect(answered).toBeGreaterThan(1000);
    expect(read).toBeGreaterThan(1000);
    const unseen = STUN_REFUSALS.filter((r) => !refusals.has(r));
    expect(unseen).toEqual(['attribute-after-fingerprint']);
  });
});
