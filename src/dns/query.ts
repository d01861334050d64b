/**
 * A query as the resolver takes it: one question, opcode QUERY, EDNS version 0 if any. What fails
 * those rules gets the error answer the RFCs give it, when its header can be read and it is not
 * itself a response; otherwise it is dropped. Either way the reason is named, for the counters.
 */

import { answerLimit, encodeWithin, type Transport } from './answer-size.js';
import { OPCODE, RCODE } from './constants.js';
import {
  type DnsHeader,
  type DnsMessage,
  type DnsOpt,
  type DnsQuestion,
  parseHeader,
  parseMessage,
} from './message.js';
import { nameKey } from './names.js';
import { DnsParseError } from './parse-error.js';
import type { DnsRefusal } from './refusals.js';

/**
 * The longest query taken. A stub's query is a question and an OPT record with a few options, well
 * under this even padded to 128-byte blocks (RFC 8467); anything longer is not one.
 */
export const MAX_QUERY = 1232;

export interface DnsQuery {
  header: DnsHeader;
  question: DnsQuestion;
  /** The question's name as the lookups file names: lowercase. */
  key: string;
  opt: DnsOpt | null;
}

export type QueryRead =
  | { ok: true; query: DnsQuery }
  /** `reply`: the error answer to send back, or null to drop the message unanswered. */
  | { ok: false; reason: DnsRefusal; reply: Uint8Array | null };

/** The OPT record of our answers: what we take over UDP (RFC 6891 §6.2.5), no options. */
export const SERVER_OPT: DnsOpt = { udpSize: 1232, extendedRcode: 0, version: 0, flags: 0, options: [] };

export function readQuery(bytes: Uint8Array, transport: Transport): QueryRead {
  if (bytes.length > MAX_QUERY) return { ok: false, reason: 'oversize-query', reply: null };
  let m: DnsMessage;
  try {
    m = parseMessage(bytes);
  } catch (error) {
    if (!(error instanceof DnsParseError)) throw error;
    const header = bytes.length >= 12 ? parseHeader(bytes) : null;
    if (header?.qr) return { ok: false, reason: 'not-a-query', reply: null };
    const reply = header ? errorReply(header, RCODE.FORMERR, null, null, transport) : null;
    return { ok: false, reason: error.reason, reply };
  }
  const h = m.header;
  if (h.qr) return { ok: false, reason: 'not-a-query', reply: null };
  const question = m.questions.length === 1 ? m.questions[0]! : null;
  if (h.opcode !== OPCODE.QUERY) {
    return {
      ok: false,
      reason: 'unsupported-opcode',
      reply: errorReply(h, RCODE.NOTIMP, question, m.opt, transport),
    };
  }
  if (question === null) {
    return {
      ok: false,
      reason: 'not-one-question',
      reply: errorReply(h, RCODE.FORMERR, null, m.opt, transport),
    };
  }
  if (m.opt !== null && m.opt.version !== 0) {
    return {
      ok: false,
      reason: 'bad-edns-version',
      reply: errorReply(h, RCODE.BADVERS, question, m.opt, transport),
    };
  }
  return { ok: true, query: { header: h, question, key: nameKey(question.name), opt: m.opt } };
}

/** The header of an answer to `q`: its id, opcode, RD and CD, with `rcode`'s low bits. */
export function answerHeader(q: DnsHeader, rcode: number, aa: boolean): DnsHeader {
  return {
    id: q.id,
    qr: true,
    opcode: q.opcode,
    aa,
    tc: false,
    rd: q.rd,
    ra: true,
    z: false,
    ad: false,
    cd: q.cd,
    rcode: rcode & 0xf,
  };
}

/**
 * An answer carrying only an error code (and the question, when there was exactly one). It has an
 * OPT record when the query had one, as it must to carry an extended code like BADVERS.
 */
export function errorReply(
  q: DnsHeader,
  rcode: number,
  question: DnsQuestion | null,
  opt: DnsOpt | null,
  transport: Transport,
): Uint8Array {
  const reply: DnsMessage = {
    header: answerHeader(q, rcode, false),
    questions: question ? [question] : [],
    answers: [],
    authority: [],
    additional: [],
    opt: opt || rcode > 0xf ? { ...SERVER_OPT, extendedRcode: rcode >>> 4 } : null,
  };
  return encodeWithin(reply, answerLimit(transport, opt));
}
