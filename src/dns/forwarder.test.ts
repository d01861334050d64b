import { describe, expect, it } from 'vitest';
import type { DnsAction } from './actions.js';
import { RCODE, TYPE } from './constants.js';
import { ATTEMPT_TIMEOUT_MS } from './forwarder.js';
import { type DnsMessage, encodeMessage, parseMessage } from './message.js';
import { DnsResolver } from './resolver.js';
import type { DnsTable, Upstream } from './table.js';
import { countingRandom, queryBytes } from './testing.js';

const FIRST = { host: '192.168.1.1', port: 53 };
const SECOND = { host: 'fd00::53', port: 53 };
const TABLE: DnsTable = {
  baseDomain: 'burrow.internal',
  devices: [],
  routes: [],
  fallback: [FIRST, { host: 'fd00:0:0::53', port: 53 }],
  overrideAll: [],
  reverseZones: [],
};

type Sent = { upstream: Upstream; transport: string; bytes: Uint8Array; id: number; message: DnsMessage };

function forwarded(action: DnsAction<string>): Sent {
  if (action.kind !== 'forward') throw new Error(`expected a forward, got ${JSON.stringify(action)}`);
  return { ...action, id: (action.bytes[0]! << 8) | action.bytes[1]!, message: parseMessage(action.bytes) };
}

/** The upstream's answer to a forwarded query: its question, one A record, the query's id. */
function upstreamAnswer(sent: Sent, over: Partial<DnsMessage> = {}): Uint8Array {
  const q = sent.message;
  return encodeMessage({
    ...q,
    header: { ...q.header, qr: true, ra: true },
    answers: [
      {
        name: q.questions[0]!.name,
        type: TYPE.A,
        class: 1,
        ttl: 300,
        data: { kind: 'a', address: new Uint8Array([93, 184, 216, 34]) },
      },
    ],
    ...over,
  });
}

function setup(options: { max?: number } = {}) {
  const ids: number[] = [];
  const random = countingRandom(0x1000);
  const r = new DnsResolver<string>(TABLE, {
    random: (n) => {
      const bytes = random(n);
      ids.push((bytes[0]! << 8) | bytes[1]!);
      return bytes;
    },
    ...(options.max === undefined ? {} : { maxOutstanding: options.max }),
  });
  return { r, ids };
}

describe('forwarding', () => {
  it('sends the query upstream under a fresh id, and the reply back to the asker under theirs', () => {
    const { r } = setup();
    const query = queryBytes('Example.com', TYPE.A, { id: 0xabcd });
    const sent = forwarded(r.query(query, 'alice', 'udp', 0));
    expect(sent.upstream).toEqual(FIRST);
    expect(sent.id).toBe(0x1000);
    // Only the id differs from what the asker sent.
    expect(sent.bytes.subarray(2)).toEqual(query.subarray(2));
    const reply = upstreamAnswer(sent);
    const back = r.reply(reply, FIRST, 10);
    expect(back.kind === 'answer' && back.to).toBe('alice');
    if (back.kind !== 'answer') return;
    expect(back.bytes.subarray(0, 2)).toEqual(new Uint8Array([0xab, 0xcd]));
    expect(back.bytes.subarray(2)).toEqual(reply.subarray(2));
    expect(r.outstanding).toBe(0);
    // A second copy of the reply finds nothing waiting for it.
    expect(r.reply(reply, FIRST, 11)).toEqual({ kind: 'drop', reason: 'reply-unknown-id' });
  });

  it('drops replies from where it did not ask, to another question, or unreadable, and keeps waiting', () => {
    const { r } = setup();
    const sent = forwarded(r.query(queryBytes('example.com'), 'alice', 'udp', 0));
    const reply = upstreamAnswer(sent);
    expect(r.reply(reply, { host: '192.168.1.1', port: 5353 }, 1)).toEqual({
      kind: 'drop',
      reason: 'reply-from-unasked',
    });
    expect(r.reply(reply, { host: '192.168.1.66', port: 53 }, 1)).toEqual({
      kind: 'drop',
      reason: 'reply-from-unasked',
    });
    const other = upstreamAnswer(sent, { questions: [{ name: 'evil.example', type: TYPE.A, class: 1 }] });
    expect(r.reply(other, FIRST, 1)).toEqual({ kind: 'drop', reason: 'reply-question-mismatch' });
    const aaaa = upstreamAnswer(sent, {
      questions: [{ name: 'example.com', type: TYPE.AAAA, class: 1 }],
      answers: [],
    });
    expect(r.reply(aaaa, FIRST, 1)).toEqual({ kind: 'drop', reason: 'reply-question-mismatch' });
    expect(r.reply(reply.subarray(0, 11), FIRST, 1)).toEqual({ kind: 'drop', reason: 'reply-malformed' });
    expect(r.reply(sent.bytes, FIRST, 1)).toEqual({ kind: 'drop', reason: 'reply-malformed' }); // not a response
    const cut = reply.slice(0, 16);
    expect(r.reply(cut, FIRST, 1)).toEqual({ kind: 'drop', reason: 'reply-malformed' });
    // The upstream may change the case of the question (0x20 and back): it is still the same one.
    const upper = upstreamAnswer(sent, { questions: [{ name: 'EXAMPLE.COM', type: TYPE.A, class: 1 }] });
    expect(r.reply(upper, FIRST, 2).kind).toBe('answer');
    expect(r.refusals()).toEqual({
      'reply-from-unasked': 2,
      'reply-question-mismatch': 2,
      'reply-malformed': 3,
    });
  });

  it('asks the next upstream when one is silent, and answers SERVFAIL when none answers', () => {
    const { r } = setup();
    const first = forwarded(r.query(queryBytes('example.com', TYPE.A, { id: 7 }), 'alice', 'udp', 1000));
    expect(r.nextDeadline()).toBe(1000 + ATTEMPT_TIMEOUT_MS);
    expect(r.tick(1000 + ATTEMPT_TIMEOUT_MS - 1)).toEqual([]);
    const [retry] = r.tick(1000 + ATTEMPT_TIMEOUT_MS);
    const second = forwarded(retry!);
    // The second server as the driver reports a source address: canonical text.
    expect(second.upstream).toEqual(SECOND);
    expect(second.id).not.toBe(first.id);
    // The first server's late reply no longer counts.
    expect(r.reply(upstreamAnswer(first), FIRST, 2600)).toEqual({ kind: 'drop', reason: 'reply-unknown-id' });
    const [fail] = r.tick(1000 + 2 * ATTEMPT_TIMEOUT_MS);
    expect(fail?.kind === 'answer' && fail.to).toBe('alice');
    if (fail?.kind !== 'answer') return;
    const m = parseMessage(fail.bytes);
    expect(m.header).toMatchObject({ id: 7, rcode: RCODE.SERVFAIL });
    expect(m.questions[0]?.name).toBe('example.com');
    expect(r.outstanding).toBe(0);
    expect(r.nextDeadline()).toBe(Number.POSITIVE_INFINITY);
    expect(r.counters['upstream-timeout']).toBe(1);
  });

  it('keeps a bounded number of queries outstanding, and answers SERVFAIL past it', () => {
    const { r } = setup({ max: 3 });
    for (let i = 0; i < 3; i++)
      expect(r.query(queryBytes(`q${i}.example`), 'alice', 'udp', 0).kind).toBe('forward');
    const over = r.query(queryBytes('q3.example', TYPE.A, { id: 99 }), 'bob', 'udp', 0);
    expect(over.kind === 'answer' && parseMessage(over.bytes).header).toMatchObject({
      id: 99,
      rcode: RCODE.SERVFAIL,
    });
    expect(r.counters['forward-table-full']).toBe(1);
    expect(r.outstanding).toBe(3);
  });

  it('never hands out an id still outstanding', () => {
    let n = 0;
    // A source that repeats itself: 5, 5, 5, 6, ...
    const r = new DnsResolver<string>(TABLE, { random: () => new Uint8Array([0, n++ < 3 ? 5 : n]) });
    const a = forwarded(r.query(queryBytes('a.example'), 'x', 'udp', 0));
    const b = forwarded(r.query(queryBytes('b.example'), 'x', 'udp', 0));
    expect(a.id).toBe(5);
    expect(b.id).not.toBe(5);
  });

  it("turns a reply too big for the asker's UDP buffer into a truncated answer, so it asks over TCP", () => {
    const { r } = setup();
    const sent = forwarded(
      r.query(queryBytes('big.example', TYPE.A, { id: 3, opt: null }), 'alice', 'udp', 0),
    );
    const many = Array.from({ length: 40 }, (_, i) => ({
      name: 'big.example',
      type: TYPE.A,
      class: 1,
      ttl: 60,
      data: { kind: 'a' as const, address: new Uint8Array([10, 0, 0, i]) },
    }));
    const reply = upstreamAnswer(sent, { answers: many });
    expect(reply.length).toBeGreaterThan(512);
    const back = r.reply(reply, FIRST, 1);
    if (back.kind !== 'answer') throw new Error(back.kind);
    const m = parseMessage(back.bytes);
    expect(m.header).toMatchObject({ id: 3, tc: true, rcode: 0 });
    expect(m.answers).toEqual([]);
    expect(m.questions[0]?.name).toBe('big.example');
    // Over TCP, the same reply goes through whole.
    const tcp = forwarded(r.query(queryBytes('big.example', TYPE.A, { opt: null }), 'alice', 'tcp', 0));
    expect(tcp.transport).toBe('tcp');
    const whole = r.reply(upstreamAnswer(tcp, { answers: many }), FIRST, 1);
    expect(whole.kind === 'answer' && parseMessage(whole.bytes).answers.length).toBe(40);
  });
});
