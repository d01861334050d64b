import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { nobleCrypto, nodeCrypto } from '../crypto/index.js';
import type { CryptoProvider } from '../crypto/types.js';
import { DISCO_MAGIC, DISCO_OPEN_REFUSALS, DiscoBox, type DiscoOpenRefusal } from './box.js';
import {
  DISCO_REFUSALS,
  DiscoError,
  type DiscoMessage,
  type DiscoRefusal,
  ENDPOINT_KINDS,
  encodeDiscoMessage,
  parseDiscoMessage,
} from './message.js';

const SEED = 0x42525744;
const LABEL = new TextEncoder().encode('burrow disco v1');
const LOW_ORDER_KEYS = [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))];

// Plain checks rather than expect(): a hundred thousand of those would take most of the run.
function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function randomEndpoint(rng: Rng): { host: string; port: number } {
  const port = 1 + rng.int(0xffff);
  if (rng.chance(0.5)) return { host: Array.from(rng.bytes(4)).join('.'), port };
  // Runs of zero groups, so that "::" lands in different places.
  const groups = Array.from({ length: 8 }, () => (rng.chance(0.4) ? 0 : rng.int(0x10000)).toString(16));
  return { host: groups.join(':'), port };
}

function randomMessage(rng: Rng): DiscoMessage {
  switch (rng.int(3)) {
    case 0:
      return { type: 'ping', txid: rng.bytes(12), nodeKey: rng.bytes(32) };
    case 1:
      return { type: 'pong', txid: rng.bytes(12), src: randomEndpoint(rng) };
    default: {
      const kinds = rng.chance(0.5);
      return {
        type: 'call-me-maybe',
        endpoints: Array.from({ length: (kinds ? 1 : 0) + rng.int(kinds ? 32 : 33) }, () => {
          const e = randomEndpoint(rng);
          return kinds ? { ...e, kind: rng.pick(ENDPOINT_KINDS) } : e;
        }),
      };
    }
  }
}

/**
 * Nearly a message: a known type and version 0 (or a call-me-maybe with kinds, version 1) most of
 * the time, and a length near a real one.
 */
function nearMessage(rng: Rng): Uint8Array {
  const kinds = rng.chance(0.3);
  const size = kinds ? 19 : 18;
  const length =
    (kinds ? 2 + size * rng.int(34) : rng.pick([2 + 12 + 32, 2 + 12 + 18, 2 + 18 * rng.int(34)])) +
    rng.pick([0, 0, 0, -1, 1, -size]);
  const plain = rng.bytes(Math.max(0, length));
  if (plain.length >= 2) {
    plain[0] = kinds ? 3 : rng.chance(0.9) ? 1 + rng.int(3) : rng.int(256);
    plain[1] = kinds ? 1 : rng.chance(0.9) ? 0 : rng.int(256);
  }
  // Ports of zero now and then; with kinds, mostly kinds that exist.
  for (let at = 2; at + size <= plain.length; at += size) {
    if (rng.chance(0.05)) plain.set([0, 0], at + 16);
    if (kinds) plain[at + 18] = rng.chance(0.9) ? 1 + rng.int(3) : rng.int(256);
  }
  return plain;
}

function mutate(rng: Rng, base: Uint8Array): Uint8Array {
  let bytes = base.slice();
  switch (rng.int(4)) {
    case 0:
      for (let n = 1 + rng.int(3); n > 0; n--) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
      break;
    case 1:
      for (let n = 1 + rng.int(3); n > 0; n--) bytes[rng.int(bytes.length)] = rng.int(256);
      break;
    case 2:
      bytes = bytes.slice(0, rng.int(bytes.length + 1));
      break;
    default:
      bytes = Uint8Array.of(...bytes, ...rng.bytes(1 + rng.int(20)));
  }
  return bytes;
}

describe('parseDiscoMessage under fuzz', () => {
  const INPUTS = 50_000;

  it(`parses or refuses by name ${INPUTS} random and mutated plaintexts, re-encoding what it parses`, () => {
    const rng = new Rng(SEED);
    const corpus = Array.from({ length: 64 }, () => encodeDiscoMessage(randomMessage(rng)));
    const seen = new Set<DiscoRefusal>();
    let parsed = 0;
    for (let i = 0; i < INPUTS; i++) {
      const roll = rng.next();
      const plain =
        roll < 0.1 ? rng.bytes(rng.int(700)) : roll < 0.5 ? nearMessage(rng) : mutate(rng, rng.pick(corpus));
      try {
        const message = parseDiscoMessage(plain);
        parsed++;
        // One encoding per message: what parses encodes back to the same bytes.
        check(equal(encodeDiscoMessage(message), plain), 'not canonical');
      } catch (error) {
        if (!(error instanceof DiscoError)) {
          throw new Error(`plaintext ${i} (seed ${SEED}) ${bytesToHex(plain)}: ${String(error)}`, {
            cause: error,
          });
        }
        seen.add(error.reason);
      }
    }
    expect(parsed).toBeGreaterThan(5000);
    expect(DISCO_REFUSALS.filter((r) => !seen.has(r))).toEqual([]);
  });
});

describe.each<{ crypto: CryptoProvider; inputs: number }>([
  { crypto: nodeCrypto, inputs: 50_000 },
  // The pure-JS provider is slower; fewer rounds still cover its failure paths.
  { crypto: nobleCrypto, inputs: 5_000 },
])('DiscoBox.open under fuzz ($crypto.name)', ({ crypto, inputs }) => {
  it(`refuses by name ${inputs} random, forged and mutated packets, never throwing`, () => {
    const rng = new Rng(SEED + inputs);
    const alicePrivate = rng.bytes(32);
    const alice = new DiscoBox(crypto, alicePrivate, (n) => rng.bytes(n));
    const bob = new DiscoBox(crypto, rng.bytes(32), (n) => rng.bytes(n));
    const sealed = Array.from({ length: 64 }, () => alice.seal(bob.publicKey, randomMessage(rng)));
    const genuine = new Set(sealed.map(bytesToHex));

    // Well sealed by alice, but with any plaintext: reaches the parser behind the tag.
    const shared = crypto.hash(LABEL, crypto.x25519(alicePrivate, bob.publicKey)!);
    const sealRaw = (plain: Uint8Array) => {
      const header = Uint8Array.of(...DISCO_MAGIC, ...alice.publicKey, ...rng.bytes(24));
      return Uint8Array.of(
        ...header,
        ...crypto.xseal(shared, header.subarray(38), plain, header.subarray(0, 38)),
      );
    };

    const seen = new Map<DiscoOpenRefusal, number>();
    let opened = 0;
    for (let i = 0; i < inputs; i++) {
      const roll = rng.next();
      let packet: Uint8Array;
      let authentic = false;
      if (roll < 0.1) packet = rng.bytes(rng.int(700));
      else if (roll < 0.2) packet = Uint8Array.of(...DISCO_MAGIC, ...rng.bytes(rng.int(700)));
      else if (roll < 0.3) {
        packet = sealRaw(nearMessage(rng));
        authentic = true;
      } else {
        packet = mutate(rng, rng.pick(sealed));
        if (rng.chance(0.05) && packet.length >= 38) packet.set(rng.pick(LOW_ORDER_KEYS), 6);
      }
      const result = bob.open(packet);
      if (result.ok) {
        opened++;
        check(
          authentic || genuine.has(bytesToHex(packet)),
          `forged packet ${i} (seed ${SEED + inputs}) opened`,
        );
        check(equal(result.sender, alice.publicKey), 'wrong sender');
      } else {
        seen.set(result.reason, (seen.get(result.reason) ?? 0) + 1);
      }
    }
    expect(bob.refusals['internal-error']).toBe(0);
    expect(opened).toBeGreaterThan(0);
    expect(Object.fromEntries(seen)).toEqual(
      Object.fromEntries(Object.entries(bob.refusals).filter(([, n]) => n > 0)),
    );
    expect(DISCO_OPEN_REFUSALS.filter((r) => !seen.has(r))).toEqual(['internal-error']);
    // And the box still works.
    expect(bob.open(alice.seal(bob.publicKey, randomMessage(rng))).ok).toBe(true);
  });
});
