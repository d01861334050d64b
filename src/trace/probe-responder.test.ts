import { describe, expect, it } from 'vitest';
import { InboundFilter } from '../filter/inbound-filter.js';
import type { FilterRule } from '../policy/filter.js';
import { PendingProbes, type ProbeQuestion } from './pending-probes.js';
import { encodeProbePacket, parseProbePacket } from './probe-packet.js';
import { type ProbeAsker, ProbeResponder, type ProbeResponderOptions } from './probe-responder.js';
import { TraceProbes } from './trace-probes.js';

// alice (100.64.0.1) asks webcam (100.64.0.2), whose policy lets alice's /24 reach port 80.
const ALICE = '100.64.0.1';
const WEBCAM = '100.64.0.2';
const RULES: FilterRule[] = [
  { srcIps: ['100.64.0.9/32'], dstPorts: [{ ip: '*', ports: { first: 22, last: 22 } }], protocols: [] },
  {
    srcIps: ['100.64.0.7/32', '100.64.0.0/24'],
    dstPorts: [
      { ip: '100.64.0.2/32', ports: { first: 80, last: 80 } },
      { ip: '10.1.0.0/16', ports: { first: 0, last: 65535 } },
    ],
    protocols: [6],
  },
];
const alice: ProbeAsker = { id: 'n-alice', addresses: [ALICE, 'fd7a:115c:a1e0::1'], quarantined: false };

function setup(options: Partial<ProbeResponderOptions> = {}) {
  const filter = new InboundFilter();
  filter.setRules(RULES);
  const responder = new ProbeResponder({
    selfAddresses: [WEBCAM],
    explain: (packet, from, now) => filter.explain(packet, from, now),
    listens: (protocol, port) => protocol === 'tcp' && port === 80,
    ...options,
  });
  const asker = new PendingProbes({ random: counterRandom() });
  return { filter, responder, asker, probes: new TraceProbes(responder) };
}

function counterRandom(): (n: number) => Uint8Array {
  let next = 0;
  return (n) => Uint8Array.from({ length: n }, (_, i) => (i === n - 1 ? ++next & 0xff : 0));
}

const question = (over: Partial<ProbeQuestion> = {}): ProbeQuestion => ({
  peerId: 'n-webcam',
  from: ALICE,
  peerAddress: WEBCAM,
  protocol: 'tcp',
  dst: WEBCAM,
  port: 80,
  askListening: true,
  ...over,
});

/** Asks the question through the responder and back; the answer, or the refusal. */
function trace(s: ReturnType<typeof setup>, q: ProbeQuestion, from: ProbeAsker = alice, now = 0) {
  const { packet } = s.asker.ask(q, now);
  const reply = s.probes.receive(packet, from, now);
  if (reply.reply === null) return null;
  return s.asker.receive(parseProbePacket(reply.reply) as never, q.peerId, now + 5)?.answer ?? 'unmatched';
}

describe('ProbeResponder', () => {
  it('answers with the admitting rule, told as the part that admits the asker, and whether the port listens', () => {
    const s = setup();
    expect(trace(s, question())).toEqual({
      type: 'answer',
      id: expect.stringMatching(/^[0-9a-f]{16}$/),
      reason: 'policy',
      rule: 1,
      ruleText: '100.64.0.0/24 -> 100.64.0.2/32:80 tcp',
      listening: true,
    });
    // Nothing listens on 81 here, but the asker may not reach it: the probe says no more than that.
    expect(trace(s, question({ port: 81 }))).toMatchObject({
      reason: 'not-allowed-by-policy',
      rule: null,
      ruleText: null,
      listening: null,
    });
    // A subnet this device routes: admitted, but whether something listens there is not ours to tell.
    expect(trace(s, question({ dst: '10.1.2.3', port: 5432 }))).toMatchObject({
      reason: 'policy',
      listening: null,
    });
    expect(trace(s, question({ askListening: false }))).toMatchObject({ reason: 'policy', listening: null });
  });

  it('names Shields Up and quarantine, and tells nothing of the port behind them', () => {
    const s = setup();
    expect(trace(s, question(), { ...alice, quarantined: true })).toMatchObject({
      reason: 'quarantined',
      listening: null,
    });
    s.filter.setShieldsUp(true);
    expect(trace(s, question())).toMatchObject({
      reason: 'shields-up',
      rule: null,
      ruleText: null,
      listening: null,
    });
  });

  it('explains without filtering: no drop is counted and no flow opened', () => {
    const s = setup();
    trace(s, question({ port: 81 }));
    s.filter.setShieldsUp(true);
    trace(s, question({ protocol: 'udp', port: 53 }));
    expect(Object.values(s.filter.drops).every((n) => n === 0)).toBe(true);
    expect(s.filter.trackedFlows).toBe(0);
  });

  it('refuses probes about another source, from a routed address, or to another device', () => {
    const s = setup();
    const ask = (src: string, aboutSrc: string, dst = WEBCAM) =>
      s.probes.receive(
        encodeProbePacket(src, dst, {
          type: 'request',
          id: '00000000000000aa',
          protocol: 'tcp',
          src: aboutSrc,
          dst: WEBCAM,
          port: 80,
          askListening: true,
        }),
        { ...alice, addresses: [ALICE] },
        0,
      ).reply;
    expect(ask(ALICE, '100.64.0.7')).toBeNull(); // what would bob's packet meet? not alice's to ask
    expect(ask('10.9.0.1', '10.9.0.1')).toBeNull(); // a subnet alice routes is not alice
    expect(ask(ALICE, ALICE, '100.64.0.3')).toBeNull();
    expect(s.responder.refusals).toMatchObject({ 'foreign-source': 2, 'not-to-us': 1 });
    expect(ask(ALICE, ALICE)).not.toBeNull();
  });

  it('takes addresses in any form they are written in, for itself, the asker and the question', () => {
    const s = setup({ selfAddresses: ['FD7A:115C:A1E0:0:0:0:0:2'] });
    s.filter.setRules([
      { srcIps: ['*'], dstPorts: [{ ip: '*', ports: { first: 80, last: 80 } }], protocols: [] },
    ]);
    const six = { ...alice, addresses: ['fd7a:115c:a1e0:0000::1'] };
    const q = question({
      from: 'FD7A:115C:A1E0::1',
      peerAddress: 'fd7a:115c:a1e0:0:0::2',
      dst: 'fd7a:115c:a1e0::2',
    });
    expect(trace(s, q, six)).toMatchObject({ reason: 'policy', listening: true });
  });

  it('limits each asker to a burst of 20 and 10 a second, and all askers together', () => {
    const s = setup({ global: { perSecond: 50, burst: 30 } });
    const answered = (who: ProbeAsker, n: number, now: number) =>
      Array.from({ length: n }, () => {
        const { packet } = s.asker.ask(question({ from: who.addresses[0]! }), now);
        return s.probes.receive(packet, who, now).reply !== null;
      }).filter(Boolean).length;
    expect(answered(alice, 25, 0)).toBe(20);
    expect(answered(alice, 5, 100)).toBe(1); // 100 ms: one more token
    const carol: ProbeAsker = { id: 'n-carol', addresses: ['100.64.0.3'], quarantined: false };
    expect(answered(carol, 20, 100)).toBe(14); // the global bucket: 30, less alice's 21, plus 5 for 100 ms
    expect(s.responder.refusals['rate-limited']).toBe(5 + 4 + 6);
  });

  it('forgets the stalest asker past maxAskers, and still limits the ones it keeps', () => {
    const s = setup({
      maxAskers: 2,
      global: { perSecond: 1000, burst: 1000 },
      perAsker: { perSecond: 1, burst: 1 },
    });
    const once = (id: string) =>
      s.responder.respond(parseProbePacket(s.asker.ask(question(), 0).packet) as never, { ...alice, id }, 0);
    expect(once('a')).toHaveProperty('answer');
    expect(once('b')).toHaveProperty('answer');
    expect(once('b')).toEqual({ refused: 'rate-limited' });
    expect(once('c')).toHaveProperty('answer'); // 'a' forgotten
    expect(once('b')).toEqual({ refused: 'rate-limited' });
  });
});

describe('PendingProbes', () => {
  it('takes an answer once, only from the peer and address asked, before the timeout', () => {
    const s = setup();
    const { packet } = s.asker.ask(question(), 1000);
    const answer = s.probes.receive(packet, alice, 1000).reply!;
    const parsed = parseProbePacket(answer) as never;
    expect(s.asker.receive(parsed, 'n-bob', 1010)).toBeNull(); // the right id, from another peer
    expect(s.asker.receive(parsed, 'n-webcam', 1020)).toMatchObject({ ms: 20, answer: { reason: 'policy' } });
    expect(s.asker.receive(parsed, 'n-webcam', 1030)).toBeNull(); // a replay
    expect(s.asker.unmatched).toBe(2);
    // The same answer, from another address of the right peer.
    const second = s.asker.ask(question(), 2000);
    const reply = parseProbePacket(s.probes.receive(second.packet, alice, 2000).reply!);
    expect(s.asker.receive({ ...reply, src: '10.1.0.1' } as never, 'n-webcam', 2001)).toBeNull();
    // Too late: expired, and gone.
    expect(s.asker.nextDeadline()).toBe(5000);
    expect(s.asker.receive(reply as never, 'n-webcam', 5000)).toBeNull();
    expect(s.asker.expire(5000)).toEqual([{ id: second.id, question: question(), answer: null, ms: 3000 }]);
    expect(s.asker.size).toBe(0);
    expect(s.asker.nextDeadline()).toBeNull();
  });

  it('holds a bounded number of probes, each under its own id', () => {
    const ids = new PendingProbes({ random: counterRandom(), maxPending: 2 });
    const a = ids.ask(question(), 0);
    const b = ids.ask(question(), 0);
    expect(a.id).not.toBe(b.id);
    expect(() => ids.ask(question(), 0)).toThrow(/already waiting/);
    expect(ids.cancel(a.id)).toBe(true);
    expect(ids.ask(question(), 0).id).not.toBe(b.id);
  });
});
