/**
 * Answers for the names this device's resolver owns: device names (A, AAAA), the base domain and
 * the names between it and the devices, and reverse names in the mesh's address ranges (PTR). A
 * name it owns that does not exist is NXDOMAIN, a name that exists without the type asked is
 * NOERROR with no answer; both carry the zone's SOA so that they may be cached (RFC 2308).
 */

import { answerLimit, encodeWithin, type Transport } from './answer-size.js';
import { CLASS, RCODE, TYPE } from './constants.js';
import type { DnsMessage, DnsRecord } from './message.js';
import { isAtOrBelow } from './names.js';
import { answerHeader, type DnsQuery, errorReply, SERVER_OPT } from './query.js';
import type { DnsRefusal } from './refusals.js';
import { readReverseName, reverseName } from './reverse-names.js';
import { type NameIndex, reverseZoneOf } from './table.js';

export interface LocalAnswer {
  bytes: Uint8Array;
  /** Set when the answer is a refusal, for the counters. */
  refusal: DnsRefusal | null;
}

/** The answer to `query` if its name is ours, or null if it is to be forwarded. */
export function answerLocally(index: NameIndex, query: DnsQuery, transport: Transport): LocalAnswer | null {
  const { key, question } = query;
  const entry = index.names.get(key);
  let records: DnsRecord[] = [];
  let zone: string | null;
  let rcode: number = RCODE.NOERROR;
  if (entry !== undefined) {
    zone = entry.zone;
    const t = question.type;
    const any = t === TYPE.ANY;
    if (t === TYPE.A || any) for (const a of entry.v4) records.push(address(query, TYPE.A, a, index.ttl));
    if (t === TYPE.AAAA || any)
      for (const a of entry.v6) records.push(address(query, TYPE.AAAA, a, index.ttl));
    if ((t === TYPE.SOA || any) && key === index.base)
      records.push(soa(index, index.base, query.question.name));
  } else {
    const target = index.ptr.get(key);
    const reverse = target === undefined ? readReverseName(key) : null;
    const reverseZone = reverse ? reverseZoneOf(index, reverse.addr, reverse.bits) : null;
    if (target !== undefined) {
      zone = null;
      if (question.type === TYPE.PTR || question.type === TYPE.ANY) {
        records = [
          {
            name: question.name,
            type: TYPE.PTR,
            class: CLASS.IN,
            ttl: index.ttl,
            data: { kind: 'ptr', target },
          },
        ];
      }
    } else if (reverse !== null && reverseZone !== null) {
      zone = reverseName(reverseZone.prefix.addr, reverseZone.apexBits);
      // A whole address without a device, or labels past one, does not exist; a shorter name may
      // have addresses below it, and exists.
      if (reverse.extra || reverse.bits === reverse.addr.length * 8) rcode = RCODE.NXDOMAIN;
    } else if (index.base !== '' && isAtOrBelow(key, index.base)) {
      zone = index.base;
      rcode = RCODE.NXDOMAIN;
    } else {
      return null;
    }
  }
  if (question.class !== CLASS.IN && question.class !== CLASS.ANY) {
    return {
      bytes: errorReply(query.header, RCODE.REFUSED, question, query.opt, transport),
      refusal: 'unsupported-class',
    };
  }
  const reply: DnsMessage = {
    header: answerHeader(query.header, rcode, true),
    questions: [question],
    answers: records,
    authority: records.length === 0 && zone !== null ? [soa(index, zone, null)] : [],
    additional: [],
    opt: query.opt ? SERVER_OPT : null,
  };
  return { bytes: encodeWithin(reply, answerLimit(transport, query.opt)), refusal: null };
}

function address(query: DnsQuery, type: number, addr: Uint8Array, ttl: number): DnsRecord {
  return {
    name: query.question.name,
    type,
    class: CLASS.IN,
    ttl,
    data: type === TYPE.A ? { kind: 'a', address: addr } : { kind: 'aaaa', address: addr },
  };
}

/** The zone's SOA; `owner` spells the apex as the query did, when the query was for the apex. */
function soa(index: NameIndex, apex: string, owner: string | null): DnsRecord {
  const mailbox = `hostmaster.${apex}`;
  return {
    name: owner ?? apex,
    type: TYPE.SOA,
    class: CLASS.IN,
    ttl: index.ttl,
    data: {
      kind: 'soa',
      mname: apex,
      rname: mailbox.length <= 253 ? mailbox : apex,
      serial: index.serial,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: index.ttl,
    },
  };
}
