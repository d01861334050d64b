/**
 * DNS as people read it (`burrow dns query`): record types and response codes by name, record
 * data as text, and the question a name or an address makes.
 */
import { formatAddr, parseCidr } from '../packet/ip-text.js';
import { CLASS, RCODE, TYPE } from './constants.js';
import { type DnsMessage, type DnsRecord, encodeMessage } from './message.js';
import { reverseName } from './reverse-names.js';

const TYPE_NAMES = new Map<number, string>(Object.entries(TYPE).map(([name, n]) => [n, name]));
const RCODE_NAMES = new Map<number, string>(Object.entries(RCODE).map(([name, n]) => [n, name]));

/** A type given as a name (`aaaa`) or a number (`28`); null if it is neither. */
export function typeNumber(text: string): number | null {
  const named = (TYPE as Record<string, number>)[text.toUpperCase()];
  if (named !== undefined) return named;
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n <= 0xffff ? n : null;
}

/** A type's name, or TYPEnnn (RFC 3597 §5). */
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}

/** A record's data as text; data of other types as RFC 3597's `\# LENGTH HEX`. */
export function recordText(record: DnsRecord): string {
  const d = record.data;
  switch (d.kind) {
    case 'a':
    case 'aaaa':
      return formatAddr(d.address);
    case 'ptr':
      return `${d.target}.`;
    case 'soa':
      return `${d.mname}. ${d.rname}. ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    default:
      return `\\# ${d.bytes.length} ${Buffer.from(d.bytes).toString('hex')}`;
  }
}

/**
 * The question for `name`: an IP address is asked as its reverse name (PTR unless a type is
 * given), anything else as given (A unless a type is given).
 */
export function questionFor(name: string, type: number | null): { name: string; type: number } {
  let addr: Uint8Array | null = null;
  try {
    if (!name.includes('/')) addr = parseCidr(name).addr;
  } catch {}
  if (addr !== null) return { name: reverseName(addr), type: type ?? TYPE.PTR };
  return { name: name.endsWith('.') ? name.slice(0, -1) : name, type: type ?? TYPE.A };
}

/** A stub's query: recursion desired, an EDNS0 record offering 1232 bytes. */
export function stubQuery(id: number, name: string, type: number): Uint8Array {
  const m: DnsMessage = {
    header: {
      id,
      qr: false,
      opcode: 0,
      aa: false,
      tc: false,
      rd: true,
      ra: false,
      z: false,
      ad: false,
      cd: false,
      rcode: 0,
    },
    questions: [{ name, type, class: CLASS.IN }],
    answers: [],
    authority: [],
    additional: [],
    opt: { udpSize: 1232, extendedRcode: 0, version: 0, flags: 0, options: [] },
  };
  return encodeMessage(m);
}
