/**
 * burrowd's resolver, without I/O: a query's bytes, who asked and the time go in, an action comes
 * out (answer these bytes, forward these bytes upstream, or drop). Device names and the mesh's
 * reverse names are answered from the table; every other name goes to the servers its split-DNS
 * route names, or to the defaults (the system's previous resolvers, or the admin's override).
 */

import type { DnsAction } from './actions.js';
import type { Transport } from './answer-size.js';
import { RCODE } from './constants.js';
import { Forwarder, type ForwarderOptions } from './forwarder.js';
import { answerLocally } from './local-answers.js';
import { errorReply, readQuery } from './query.js';
import { type DnsCounters, type DnsRefusal, newDnsCounters } from './refusals.js';
import { type DnsTable, indexTable, type NameIndex, type Upstream, upstreamsFor } from './table.js';
import type { TcpFramingFault } from './tcp-framing.js';

/** AXFR and IXFR: the zone is this device's view, not a zone to hand out. */
const ZONE_TRANSFERS = new Set([251, 252]);

export class DnsResolver<S> {
  readonly counters: DnsCounters = newDnsCounters();
  private readonly forwarder: Forwarder<S>;
  private index: NameIndex;
  private serial = 0;

  constructor(table: DnsTable, options: ForwarderOptions) {
    this.forwarder = new Forwarder(this.counters, options);
    this.index = indexTable(table, ++this.serial).index;
  }

  /**
   * Takes a new table (a map change, a rename): queries from now on see it. Returns what was wrong
   * with it; the rest of it is in use.
   */
  setTable(table: DnsTable): string[] {
    const { index, problems } = indexTable(table, ++this.serial);
    this.index = index;
    return problems;
  }

  /** A query from `from` that arrived over `transport` (for TCP: one message, unframed). */
  query(bytes: Uint8Array, from: S, transport: Transport, now: number): DnsAction<S> {
    const read = readQuery(bytes, transport);
    if (!read.ok) {
      this.counters[read.reason]++;
      if (read.reply === null) return { kind: 'drop', reason: read.reason };
      return { kind: 'answer', to: from, transport, bytes: read.reply };
    }
    const query = read.query;
    if (ZONE_TRANSFERS.has(query.question.type)) {
      this.counters['zone-transfer']++;
      const reply = errorReply(query.header, RCODE.REFUSED, query.question, query.opt, transport);
      return { kind: 'answer', to: from, transport, bytes: reply };
    }
    const local = answerLocally(this.index, query, transport);
    if (local !== null) {
      if (local.refusal !== null) this.counters[local.refusal]++;
      return { kind: 'answer', to: from, transport, bytes: local.bytes };
    }
    const servers = upstreamsFor(this.index, query.key);
    return this.forwarder.forward(query, bytes, from, transport, servers, now);
  }

  /** A message from an upstream server's address `from` (a reply to a forwarded query, or not). */
  reply(bytes: Uint8Array, from: Upstream, now: number): DnsAction<S> {
    return this.forwarder.reply(bytes, from, now);
  }

  /** Forwarded queries past their deadline: re-sent to another upstream, or answered SERVFAIL. */
  tick(now: number): DnsAction<S>[] {
    return this.forwarder.tick(now);
  }

  /** When tick() next has work; Infinity if none. */
  nextDeadline(): number {
    return this.forwarder.nextDeadline();
  }

  /** Queries waiting for an upstream. */
  get outstanding(): number {
    return this.forwarder.outstanding;
  }

  /** Counts a TCP connection closed for its framing (the driver runs the framer). */
  countFraming(fault: TcpFramingFault): void {
    this.counters[fault]++;
  }

  /** The refusals so far that are not zero, for status output. */
  refusals(): Partial<Record<DnsRefusal, number>> {
    return Object.fromEntries(Object.entries(this.counters).filter(([, n]) => n > 0));
  }
}
