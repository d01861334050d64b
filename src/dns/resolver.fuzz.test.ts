/**
 * The resolver under fuzz: random and mutated queries, and random and mutated replies from its
 * upstream, never make it throw; each query gets one action, every answer parses and fits the
 * asker's buffer, and every drop is counted under a known reason.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { answerLimit } from './answer-size.js';
import { TYPE } from './constants.js';
import { type DnsOpt, parseMessage } from './message.js';
import { DNS_REFUSALS } from './refusals.js';
import { DnsResolver } from './resolver.js';
import type { DnsTable } from './table.js';
import { queryBytes } from './testing.js';

const SEED = 0x7265736f;
const ROUNDS = 20_000;
const UPSTREAM = { host: '192.168.1.1', port: 53 };
const TABLE: DnsTable = {
  baseDomain: 'burrow.internal',
  devices: Array.from({ length: 30 }, (_, i) => ({
    fqdn: `dev${i}.family.burrow.internal`,
    shortNames: [`dev${i}`],
    ips: [`100.64.0.${i + 1}`, `fd7a:115c:a1e0::${(i + 1).toString(16)}`],
  })),
  routes: [{ suffix: 'corp.example', servers: [{ host: '10.1.0.53', port: 53 }] }],
  fallback: [UPSTREAM],
  overrideAll: [],
  reverseZones: ['fd7a:115c:a1e0::/48'],
};
const NAMES = [
  'dev3',
  'DEV7.family.burrow.internal',
  'nope.burrow.internal',
  'family.burrow.internal',
  'example.com',
  'x.corp.example',
  '5.0.64.100.in-addr.arpa',
  '9.9.64.100.in-addr.arpa',
  'burrow.internal',
];
const TYPES = [TYPE.A, TYPE.AAAA, TYPE.PTR, TYPE.SOA, TYPE.ANY, TYPE.MX, 252, 0];

function mutate(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  switch (rng.int(3)) {
    case 0:
      for (let n = 1 + rng.int(3); n > 0; n--) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    case 1:
      return out.slice(0, rng.int(out.length + 1));
    default:
      out[rng.int(out.length)] = rng.int(256);
      return out;
  }
}

describe('the resolver under fuzz', () => {
  it(`takes ${ROUNDS} random, mutated and valid queries and replies without throwing`, () => {
    const rng = new Rng(SEED);
    const r = new DnsResolver<number>(TABLE, { random: (n) => rng.bytes(n), maxOutstanding: 64 });
    const known = new Set<string>(DNS_REFUSALS);
    const forwarded: Uint8Array[] = [];
    // What each asker (a round's number) sent, for the buffer size its answer must fit.
    const asked = new Map<number, { bytes: Uint8Array; transport: 'udp' | 'tcp' }>();
    const optOf = (bytes: Uint8Array) => {
      try {
        return parseMessage(bytes).opt;
      } catch {
        return null;
      }
    };
    let now = 0;
    let answers = 0;
    for (let i = 0; i < ROUNDS; i++) {
      now += rng.int(50);
      const opt: DnsOpt | null = rng.chance(0.5)
        ? {
            udpSize: rng.int(5000),
            extendedRcode: 0,
            version: rng.chance(0.95) ? 0 : 1,
            flags: 0,
            options: [],
          }
        : null;
      const valid = queryBytes(rng.pick(NAMES), rng.pick(TYPES), {
        id: rng.int(0x10000),
        opt,
        opcode: rng.chance(0.97) ? 0 : 5,
      });
      const roll = rng.next();
      const transport = rng.chance(0.8) ? 'udp' : 'tcp';
      const actions = [];
      if (roll < 0.8) {
        const bytes = roll < 0.1 ? rng.bytes(rng.int(60)) : roll < 0.5 ? mutate(rng, valid) : valid;
        asked.set(i, { bytes, transport });
        actions.push(r.query(bytes, i, transport, now));
      } else if (forwarded.length > 0) {
        // An upstream's reply: the query turned round, or a mangled one, from the server or not.
        const sent = forwarded.splice(rng.int(forwarded.length), 1)[0]!;
        const reply = sent.slice();
        reply[2]! |= 0x80;
        const from = rng.chance(0.9) ? UPSTREAM : { host: '192.168.1.2', port: 53 };
        actions.push(r.reply(rng.chance(0.7) ? reply : mutate(rng, reply), from, now));
      }
      actions.push(...r.tick(now));
      for (const action of actions) {
        if (action.kind === 'drop') {
          if (!known.has(action.reason)) throw new Error(`unknown reason ${action.reason}`);
        } else if (action.kind === 'forward') {
          forwarded.push(action.bytes);
        } else {
          answers++;
          parseMessage(action.bytes);
          const query = asked.get(action.to)!;
          if (action.transport !== query.transport) throw new Error('answered over another transport');
          const limit = answerLimit(query.transport, optOf(query.bytes));
          if (action.bytes.length > limit)
            throw new Error(`answer of ${action.bytes.length} bytes over ${limit}`);
        }
      }
    }
    expect(answers).toBeGreaterThan(ROUNDS / 4);
    expect(r.outstanding).toBeLessThanOrEqual(64);
    expect(r.counters['reply-from-unasked']).toBeGreaterThan(0);
    expect(r.counters['upstream-timeout']).toBeGreaterThan(0);
  });
});
