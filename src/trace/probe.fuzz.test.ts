import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { InboundFilter } from '../filter/inbound-filter.js';
import { formatAddr } from '../packet/ip-text.js';
import { PendingProbes } from './pending-probes.js';
import {
  encodeProbeMessage,
  type PeerVerdictReason,
  PROBE_FIELDS,
  ProbeError,
  type ProbeField,
  type ProbeMessage,
  parseProbeMessage,
  probeAllows,
} from './probe-message.js';
import { encodeProbePacket, parseProbePacket } from './probe-packet.js';
import { ProbeResponder } from './probe-responder.js';
import { TraceProbes } from './trace-probes.js';

const RUNS = 50_000;
const REASONS: PeerVerdictReason[] = [
  'established',
  'policy',
  'shields-up',
  'quarantined',
  'not-allowed-by-policy',
];

// Plain checks rather than expect(): tens of thousands of those would take most of the run.
function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

function hexId(rng: Rng): string {
  return Array.from(rng.bytes(8), (b) => b.toString(16).padStart(2, '0')).join('');
}

function randomAddresses(rng: Rng): [string, string] {
  if (rng.chance(0.5)) return [formatAddr(rng.bytes(4)), formatAddr(rng.bytes(4))];
  // Runs of zero groups, so that "::" lands in different places; fd7a first, so never IPv4-mapped.
  const v6 = () => {
    const addr = rng.bytes(16);
    addr.set([0xfd, 0x7a]);
    for (let g = 1; g < 8; g++) if (rng.chance(0.4)) addr.set([0, 0], 2 * g);
    return formatAddr(addr);
  };
  return [v6(), v6()];
}

function randomMessage(rng: Rng): ProbeMessage {
  const id = hexId(rng);
  if (rng.chance(0.5)) {
    const protocol = rng.pick(['tcp', 'udp', 'icmp'] as const);
    const [src, dst] = randomAddresses(rng);
    return {
      type: 'request',
      id,
      protocol,
      src,
      dst,
      port: protocol === 'icmp' ? 0 : 1 + rng.int(65535),
      askListening: rng.chance(0.5),
    };
  }
  const reason = rng.pick(REASONS);
  const policy = reason === 'policy';
  const text = Array.from({ length: 1 + rng.int(255) }, () => String.fromCharCode(0x20 + rng.int(95))).join(
    '',
  );
  return {
    type: 'answer',
    id,
    reason,
    rule: policy ? rng.int(20_000) : null,
    ruleText: policy ? text : null,
    listening: probeAllows(reason) && rng.chance(0.7) ? rng.chance(0.5) : null,
  };
}

function mutate(rng: Rng, base: Uint8Array): Uint8Array {
  let bytes: Uint8Array = base.slice();
  switch (rng.int(5)) {
    case 0:
      for (let n = 1 + rng.int(3); n > 0; n--) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
      break;
    case 1:
      for (let n = 1 + rng.int(3); n > 0; n--) bytes[rng.int(bytes.length)] = rng.int(256);
      break;
    case 2:
      bytes = bytes.slice(0, rng.int(bytes.length + 1));
      break;
    case 3:
      bytes = Uint8Array.of(...bytes, ...rng.bytes(1 + rng.int(20)));
      break;
    default:
      bytes = rng.bytes(rng.int(300));
  }
  return bytes;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The field a parse refused, or null if it parsed; anything but a ProbeError fails the test. */
function parsed(parse: () => unknown): ProbeField | null {
  try {
    parse();
    return null;
  } catch (error) {
    if (error instanceof ProbeError) return error.field;
    throw error;
  }
}

describe('trace probes: fuzzing', () => {
  it(`round-trips ${RUNS} random messages, as messages and as packets`, () => {
    const rng = new Rng(0x7ace);
    for (let i = 0; i < RUNS; i++) {
      const m = randomMessage(rng);
      const bytes = encodeProbeMessage(m);
      check(
        JSON.stringify(parseProbeMessage(bytes)) === JSON.stringify(m),
        `round trip of ${JSON.stringify(m)}`,
      );
      if (i % 10 === 0) {
        const [src, dst] = randomAddresses(rng);
        const p = parseProbePacket(encodeProbePacket(src, dst, m));
        check(
          p.src === src && p.dst === dst && JSON.stringify(p.message) === JSON.stringify(m),
          'packet round trip',
        );
      }
    }
  });

  it(`refuses ${RUNS} mutated and random messages with a named field, or parses them canonically`, () => {
    const rng = new Rng(0x5eed);
    const refused = new Map<ProbeField, number>();
    for (let i = 0; i < RUNS; i++) {
      const bytes = mutate(rng, encodeProbeMessage(randomMessage(rng)));
      let message: ProbeMessage | undefined;
      const field = parsed(() => {
        message = parseProbeMessage(bytes);
      });
      if (field !== null) {
        refused.set(field, (refused.get(field) ?? 0) + 1);
        continue;
      }
      // What parses has exactly one encoding: the bytes it came from.
      check(same(encodeProbeMessage(message!), bytes), 'a parsed message encodes to its bytes');
    }
    for (const field of PROBE_FIELDS)
      if (field !== 'ip-header') expect(refused.get(field) ?? 0, field).toBeGreaterThan(10);
  });

  it(`refuses ${RUNS} mutated packets with a ProbeError and nothing else`, () => {
    const rng = new Rng(99);
    let refusedHeader = 0;
    for (let i = 0; i < RUNS; i++) {
      const [src, dst] = randomAddresses(rng);
      const packet = mutate(rng, encodeProbePacket(src, dst, randomMessage(rng)));
      if (parsed(() => parseProbePacket(packet)) === 'ip-header') refusedHeader++;
    }
    expect(refusedHeader).toBeGreaterThan(RUNS / 20);
  });

  it(`takes ${RUNS} mutated probes from the tunnel without throwing, accounting for each`, () => {
    const rng = new Rng(18);
    const filter = new InboundFilter();
    filter.setRules([
      { srcIps: ['*'], dstPorts: [{ ip: '*', ports: { first: 0, last: 65535 } }], protocols: [] },
    ]);
    const self = ['100.64.0.2', 'fd7a::2'];
    const responder = new ProbeResponder({
      selfAddresses: self,
      explain: (packet, from, now) => filter.explain(packet, from, now),
      listens: () => rng.chance(0.5),
      perAsker: { perSecond: 1e6, burst: 1e6 },
      global: { perSecond: 1e6, burst: 1e6 },
    });
    const probes = new TraceProbes(responder, new PendingProbes({ maxPending: RUNS }));
    const peer = { id: 'n-peer', addresses: ['100.64.0.1', 'fd7a::1'], quarantined: false };
    let replies = 0;
    let outcomes = 0;
    for (let i = 0; i < RUNS; i++) {
      const six = rng.chance(0.3);
      const [us, them] = six ? ['fd7a::2', 'fd7a::1'] : ['100.64.0.2', '100.64.0.1'];
      let packet: Uint8Array;
      if (rng.chance(0.3)) {
        // An answer to a probe of ours.
        const { id } = probes.pending.ask(
          {
            peerId: peer.id,
            from: us,
            peerAddress: them,
            protocol: 'udp',
            dst: them,
            port: 53,
            askListening: true,
          },
          i,
        );
        let answer = randomMessage(rng);
        while (answer.type !== 'answer') answer = randomMessage(rng);
        packet = encodeProbePacket(them, us, { ...answer, id });
      } else {
        const m = randomMessage(rng);
        packet = encodeProbePacket(them, us, m.type === 'request' ? { ...m, src: them, dst: us } : m);
      }
      if (rng.chance(0.7)) packet = mutate(rng, packet);
      const receipt = probes.receive(packet, peer, i);
      if (receipt.reply !== null) {
        replies++;
        check(parseProbePacket(receipt.reply).message.type === 'answer', 'a reply is an answer');
      }
      if (receipt.outcome !== null) outcomes++;
    }
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    expect(replies).toBe(responder.answered);
    expect(
      sum(probes.malformed) +
        sum(responder.refusals) +
        responder.answered +
        probes.pending.unmatched +
        outcomes,
    ).toBe(RUNS);
    expect(replies).toBeGreaterThan(RUNS / 10);
    expect(outcomes).toBeGreaterThan(RUNS / 20);
  });
});
