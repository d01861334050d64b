/**
 * How big an answer may be. Over UDP, never more than the client can take: 512 bytes without EDNS0
 * (RFC 1035 §4.2.1), what its OPT record offers otherwise, but never more than 1232 (unfragmented
 * on any IPv6 path); an answer over that loses records from its end and says so with TC, and the
 * client asks again over TCP (RFC 7766), where only the 2-byte length prefix bounds it.
 */

import { CLASSIC_UDP_LIMIT, MAX_MESSAGE, MAX_UDP_ANSWER } from './constants.js';
import {
  type DnsMessage,
  type DnsOpt,
  writeCounts,
  writeHeader,
  writeOpt,
  writeQuestion,
  writeRecord,
} from './message.js';
import { Writer } from './writer.js';

export type Transport = 'udp' | 'tcp';

/** The most bytes an answer to a query with `opt` may take over `transport`. */
export function answerLimit(transport: Transport, opt: DnsOpt | null): number {
  if (transport === 'tcp') return MAX_MESSAGE;
  if (opt === null) return CLASSIC_UDP_LIMIT;
  return Math.min(Math.max(opt.udpSize, CLASSIC_UDP_LIMIT), MAX_UDP_ANSWER);
}

/** TC in the header's third byte. */
const TC_BIT = 0x02;

const writer = new Writer();

/**
 * `m` encoded in at most `limit` bytes: whole if it fits, or with records dropped from the end (the
 * OPT record kept). Only additional records missing is no truncation (RFC 2181 §9); any answer or
 * authority record missing sets TC. The question always fits: it is at most 259 bytes, the limit at
 * least 512.
 */
export function encodeWithin(m: DnsMessage, limit: number): Uint8Array {
  const w = writer;
  w.reset();
  writeHeader(w, m.header);
  const records = m.answers.length + m.authority.length + m.additional.length;
  writeCounts(
    w,
    m.questions.length,
    m.answers.length,
    m.authority.length,
    m.additional.length + (m.opt ? 1 : 0),
  );
  for (const q of m.questions) writeQuestion(w, q);
  // Room the OPT record needs at the end: root name, type, class, ttl, rdlength, options.
  const optRoom = m.opt ? 11 + m.opt.options.reduce((n, o) => n + 4 + o.data.length, 0) : 0;
  const room = limit - optRoom;
  let kept = 0;
  let end = w.pos;
  fill: for (const section of [m.answers, m.authority, m.additional]) {
    for (const r of section) {
      writeRecord(w, r);
      if (w.pos > room) break fill;
      kept++;
      end = w.pos;
    }
  }
  if (kept === records) {
    if (m.opt) writeOpt(w, m.opt);
    return w.take();
  }
  // Cut after the last record that fits: later records only point back, so what is kept stays whole.
  w.pos = end;
  const an = Math.min(kept, m.answers.length);
  const ns = Math.min(kept - an, m.authority.length);
  const ar = kept - an - ns;
  const truncated = an < m.answers.length || ns < m.authority.length;
  if (truncated) w.patch8(2, w.at(2) | TC_BIT);
  w.patch16(6, an);
  w.patch16(8, ns);
  w.patch16(10, ar + (m.opt ? 1 : 0));
  if (m.opt) writeOpt(w, m.opt);
  return w.take();
}
