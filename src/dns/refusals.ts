/**
 * Every reason the resolver drops or refuses a message, each with a counter (burrowd shows them in
 * `burrow dns status`). Malformed queries with a readable header get FORMERR; those without are
 * dropped; either way they are counted here.
 */

import { DNS_PARSE_REASONS } from './parse-error.js';
import { TCP_FRAMING_FAULTS } from './tcp-framing.js';

export const DNS_REFUSALS = [
  // Queries that do not parse (answered FORMERR when the header could be read).
  ...DNS_PARSE_REASONS,
  // A TCP stream whose length prefix is out of bounds: the connection is closed.
  ...TCP_FRAMING_FAULTS,
  // A query longer than any stub sends (MAX_QUERY): dropped unread.
  'oversize-query',
  // A message with QR set where a query was expected: never answered, so two resolvers cannot
  // bounce answers at each other.
  'not-a-query',
  // A query with no question or several (RFC 9619): FORMERR.
  'not-one-question',
  // An opcode other than QUERY (NOTIFY, UPDATE, ...): NOTIMP.
  'unsupported-opcode',
  // An EDNS version other than 0: BADVERS (RFC 6891 §6.1.3).
  'bad-edns-version',
  // A class other than IN (or ANY) for a name we answer for: REFUSED.
  'unsupported-class',
  // AXFR or IXFR: zone transfers are not offered, REFUSED.
  'zone-transfer',
  // A name to forward but no upstream to forward it to: SERVFAIL.
  'no-upstream',
  // As many queries outstanding upstream as the forwarder keeps: SERVFAIL.
  'forward-table-full',
  // No upstream answered in time: SERVFAIL.
  'upstream-timeout',
  // A reply from upstream that is not a response with a readable header and one question.
  'reply-malformed',
  // A reply whose id matches no outstanding query (late, after a timeout, or spoofed).
  'reply-unknown-id',
  // A reply from an address and port the query was not sent to (spoofed, or a stray).
  'reply-from-unasked',
  // A reply whose question is not the one asked (spoofed).
  'reply-question-mismatch',
] as const;

export type DnsRefusal = (typeof DNS_REFUSALS)[number];
export type DnsCounters = Record<DnsRefusal, number>;

export function newDnsCounters(): DnsCounters {
  return Object.fromEntries(DNS_REFUSALS.map((r) => [r, 0])) as DnsCounters;
}
