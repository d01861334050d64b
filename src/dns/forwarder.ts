/**
 * The bookkeeping of forwarded queries, without I/O: each query goes upstream under a fresh random
 * id (so that an off-path attacker must guess it, RFC 5452), waits for a reply from the address it
 * went to with the question it asked, and parsing as strictly as a query does, and goes back to
 * its asker under the asker's own id. An upstream that does not answer in time hands the query to
 * the next; when none is left the asker gets SERVFAIL. Outstanding queries are bounded: past the bound, askers get SERVFAIL at once.
 */

import type { DnsAction } from './actions.js';
import { answerLimit, encodeWithin, type Transport } from './answer-size.js';
import { HEADER_LENGTH, RCODE } from './constants.js';
import { type DnsMessage, type DnsQuestion, parseMessage } from './message.js';
import { nameKey } from './names.js';
import { DnsParseError } from './parse-error.js';
import { answerHeader, type DnsQuery, errorReply, SERVER_OPT } from './query.js';
import type { DnsCounters } from './refusals.js';
import type { Upstream } from './table.js';

export interface ForwarderOptions {
  /** Cryptographically secure random bytes (query ids). */
  random: (n: number) => Uint8Array;
  /** How long one upstream gets to answer before the next is asked. */
  attemptTimeoutMs?: number;
  /** Queries outstanding at most. */
  maxOutstanding?: number;
}

/**
 * 1.5 s per upstream and at most 3 upstreams: a query is answered, or refused with SERVFAIL, within
 * 4.5 s, before glibc's stub gives up on its first try (5 s).
 */
export const ATTEMPT_TIMEOUT_MS = 1500;
export const MAX_ATTEMPTS = 3;
export const MAX_OUTSTANDING = 1024;

interface Pending<S> {
  asker: S;
  transport: Transport;
  query: DnsQuery;
  /** The query as sent upstream: the asker's bytes under our id. */
  bytes: Uint8Array;
  servers: readonly Upstream[];
  attempt: number;
  deadline: number;
}

export class Forwarder<S> {
  private readonly random: (n: number) => Uint8Array;
  private readonly timeout: number;
  private readonly max: number;
  /** By our id. Deadlines only grow with insertion order (re-sends are re-inserted), so the first
   * entry is always the next to expire. */
  private readonly pending = new Map<number, Pending<S>>();

  constructor(
    private readonly counters: DnsCounters,
    options: ForwarderOptions,
  ) {
    this.random = options.random;
    this.timeout = options.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
    this.max = options.maxOutstanding ?? MAX_OUTSTANDING;
  }

  get outstanding(): number {
    return this.pending.size;
  }

  /** Sends `query` (whose wire form is `bytes`) to the first of `servers`. */
  forward(
    query: DnsQuery,
    bytes: Uint8Array,
    asker: S,
    transport: Transport,
    servers: readonly Upstream[],
    now: number,
  ): DnsAction<S> {
    if (servers.length === 0) return this.fail(query, asker, transport, 'no-upstream');
    if (this.pending.size >= this.max) return this.fail(query, asker, transport, 'forward-table-full');
    const p: Pending<S> = { asker, transport, query, bytes: bytes.slice(), servers, attempt: 0, deadline: 0 };
    return this.send(p, now);
  }

  /** A datagram or TCP message from `from`, an upstream's reply (or not). */
  reply(bytes: Uint8Array, from: Upstream, _now: number): DnsAction<S> {
    if (bytes.length < HEADER_LENGTH || (bytes[2]! & 0x80) === 0) return this.drop('reply-malformed');
    const id = (bytes[0]! << 8) | bytes[1]!;
    const p = this.pending.get(id);
    if (p === undefined) return this.drop('reply-unknown-id');
    const server = p.servers[p.attempt]!;
    if (from.host !== server.host || from.port !== server.port) return this.drop('reply-from-unasked');
    // Read whole: the asker's stub gets nothing we would not take ourselves.
    const question = readReply(bytes);
    if (question === null) return this.drop('reply-malformed');
    const asked = p.query.question;
    if (
      nameKey(question.name) !== p.query.key ||
      question.type !== asked.type ||
      question.class !== asked.class
    ) {
      return this.drop('reply-question-mismatch');
    }
    this.pending.delete(id);
    const limit = answerLimit(p.transport, p.query.opt);
    if (bytes.length > limit)
      return { kind: 'answer', to: p.asker, transport: p.transport, bytes: truncated(p, bytes) };
    const out = bytes.slice();
    out[0] = p.query.header.id >>> 8;
    out[1] = p.query.header.id & 0xff;
    return { kind: 'answer', to: p.asker, transport: p.transport, bytes: out };
  }

  /** Queries whose upstream took too long: re-sent to the next upstream, or SERVFAIL to the asker. */
  tick(now: number): DnsAction<S>[] {
    const out: DnsAction<S>[] = [];
    for (const [id, p] of this.pending) {
      if (p.deadline > now) break;
      this.pending.delete(id);
      p.attempt++;
      if (p.attempt < Math.min(p.servers.length, MAX_ATTEMPTS)) out.push(this.send(p, now));
      else out.push(this.fail(p.query, p.asker, p.transport, 'upstream-timeout'));
    }
    return out;
  }

  /** When tick() next has something to do (Infinity when nothing is outstanding). */
  nextDeadline(): number {
    for (const p of this.pending.values()) return p.deadline;
    return Number.POSITIVE_INFINITY;
  }

  private send(p: Pending<S>, now: number): DnsAction<S> {
    const id = this.freshId();
    p.bytes[0] = id >>> 8;
    p.bytes[1] = id & 0xff;
    p.deadline = now + this.timeout;
    this.pending.set(id, p);
    // A copy: the driver may hold it (a TCP write queue) while a re-send rewrites the id.
    return {
      kind: 'forward',
      upstream: p.servers[p.attempt]!,
      transport: p.transport,
      bytes: p.bytes.slice(),
    };
  }

  /** An id no outstanding query has: at most 1024 of 65536 are taken, so this ends quickly. */
  private freshId(): number {
    for (;;) {
      const r = this.random(2);
      const id = (r[0]! << 8) | r[1]!;
      if (!this.pending.has(id)) return id;
    }
  }

  private fail(
    query: DnsQuery,
    asker: S,
    transport: Transport,
    reason: 'no-upstream' | 'forward-table-full' | 'upstream-timeout',
  ): DnsAction<S> {
    this.counters[reason]++;
    const bytes = errorReply(query.header, RCODE.SERVFAIL, query.question, query.opt, transport);
    return { kind: 'answer', to: asker, transport, bytes };
  }

  private drop(
    reason: 'reply-malformed' | 'reply-unknown-id' | 'reply-from-unasked' | 'reply-question-mismatch',
  ): DnsAction<S> {
    this.counters[reason]++;
    return { kind: 'drop', reason };
  }
}

/** The reply's one question, if the reply parses and has exactly one. */
function readReply(bytes: Uint8Array): DnsQuestion | null {
  try {
    const m = parseMessage(bytes);
    return m.questions.length === 1 ? m.questions[0]! : null;
  } catch (error) {
    if (error instanceof DnsParseError) return null;
    throw error;
  }
}

/**
 * A reply too big for the asker's UDP buffer (an upstream that ignored it): the header's code with
 * TC set and the question, so that the asker asks again over TCP.
 */
function truncated<S>(p: Pending<S>, reply: Uint8Array): Uint8Array {
  const m: DnsMessage = {
    header: { ...answerHeader(p.query.header, reply[3]! & 0xf, false), tc: true },
    questions: [p.query.question],
    answers: [],
    authority: [],
    additional: [],
    opt: p.query.opt ? SERVER_OPT : null,
  };
  return encodeWithin(m, answerLimit(p.transport, p.query.opt));
}
