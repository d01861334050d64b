/**
 * DNS messages (RFC 1035 §4.1): the header, the question section and the three record sections,
 * parsed strictly and encoded with name compression. Records of the types the resolver produces
 * (A, AAAA, PTR, SOA) carry typed data, the EDNS0 OPT record (RFC 6891) is lifted out of the
 * additional section into `opt`, and every other record keeps its rdata as opaque bytes (which must
 * then hold no compression pointers to re-encode correctly, as RFC 3597 requires of new types).
 *
 * Parsing takes bytes from the network and throws only DnsParseError. Encoding takes our own values
 * and throws a RangeError for one that cannot be encoded.
 */

import { CLASS, HEADER_LENGTH, TYPE } from './constants.js';
import { type Cursor, readName, writeName } from './names.js';
import { DnsParseError } from './parse-error.js';
import { Writer } from './writer.js';

export interface DnsHeader {
  id: number;
  /** A response (true) or a query. */
  qr: boolean;
  opcode: number;
  /** Authoritative answer. */
  aa: boolean;
  /** Truncated: the answer did not fit, ask again over TCP. */
  tc: boolean;
  /** Recursion desired, copied from query to response. */
  rd: boolean;
  /** Recursion available. */
  ra: boolean;
  /** The reserved bit, kept so that a message re-encodes to its own bytes. */
  z: boolean;
  /** Authentic data and checking disabled (RFC 4035 §3.2). */
  ad: boolean;
  cd: boolean;
  /** The low 4 bits of the response code (the OPT record holds the high 8). */
  rcode: number;
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export type RecordData =
  | { kind: 'a'; address: Uint8Array }
  | { kind: 'aaaa'; address: Uint8Array }
  | { kind: 'ptr'; target: string }
  | {
      kind: 'soa';
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  | { kind: 'opaque'; bytes: Uint8Array };

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: RecordData;
}

export interface EdnsOption {
  code: number;
  data: Uint8Array;
}

/** The OPT pseudo-record: what the sender can receive over UDP, and EDNS flags and options. */
export interface DnsOpt {
  udpSize: number;
  /** The response code's high 8 bits. */
  extendedRcode: number;
  version: number;
  /** The 16 flag bits; the top one is DO (DNSSEC OK). */
  flags: number;
  options: EdnsOption[];
}

export interface DnsMessage {
  header: DnsHeader;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authority: DnsRecord[];
  /** The additional section without the OPT record. */
  additional: DnsRecord[];
  opt: DnsOpt | null;
}

/** The fewest bytes a question (root name, type, class) and a record (plus ttl, rdlength) take. */
const MIN_QUESTION = 5;
const MIN_RECORD = 11;

/** Reads only the header: enough to answer FORMERR to a message whose body does not parse. */
export function parseHeader(bytes: Uint8Array): DnsHeader {
  if (bytes.length < HEADER_LENGTH) throw new DnsParseError('too-short', bytes.length);
  const flags = (bytes[2]! << 8) | bytes[3]!;
  return {
    id: (bytes[0]! << 8) | bytes[1]!,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >>> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    z: (flags & 0x0040) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
  };
}

export function parseMessage(bytes: Uint8Array): DnsMessage {
  const header = parseHeader(bytes);
  const qd = u16(bytes, 4);
  const an = u16(bytes, 6);
  const ns = u16(bytes, 8);
  const ar = u16(bytes, 10);
  if (qd * MIN_QUESTION + (an + ns + ar) * MIN_RECORD > bytes.length - HEADER_LENGTH) {
    throw new DnsParseError('counts-exceed-length', 4);
  }
  const cursor: Cursor = { pos: HEADER_LENGTH };
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const name = readName(bytes, cursor);
    need(bytes, cursor.pos, 4);
    questions.push({ name, type: u16(bytes, cursor.pos), class: u16(bytes, cursor.pos + 2) });
    cursor.pos += 4;
  }
  const answers = readRecords(bytes, cursor, an);
  const authority = readRecords(bytes, cursor, ns);
  const additional: DnsRecord[] = [];
  let opt: DnsOpt | null = null;
  for (let i = 0; i < ar; i++) {
    const at = cursor.pos;
    const record = readRecord(bytes, cursor);
    if (record.type !== TYPE.OPT) additional.push(record);
    else if (opt !== null || record.name !== '') throw new DnsParseError('bad-opt', at);
    else opt = optOf(record, at);
  }
  if (cursor.pos !== bytes.length) throw new DnsParseError('trailing-bytes', cursor.pos);
  return { header, questions, answers, authority, additional, opt };
}

function readRecords(bytes: Uint8Array, cursor: Cursor, count: number): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (let i = 0; i < count; i++) {
    const at = cursor.pos;
    const record = readRecord(bytes, cursor);
    if (record.type === TYPE.OPT) throw new DnsParseError('bad-opt', at);
    out.push(record);
  }
  return out;
}

function readRecord(bytes: Uint8Array, cursor: Cursor): DnsRecord {
  const name = readName(bytes, cursor);
  const at = cursor.pos;
  need(bytes, at, 10);
  const type = u16(bytes, at);
  const klass = u16(bytes, at + 2);
  const ttl = u32(bytes, at + 4);
  const length = u16(bytes, at + 8);
  const start = at + 10;
  const end = start + length;
  need(bytes, start, length);
  cursor.pos = end;
  return { name, type, class: klass, ttl, data: readData(bytes, type, klass, start, end) };
}

function readData(bytes: Uint8Array, type: number, klass: number, start: number, end: number): RecordData {
  const length = end - start;
  if ((type === TYPE.A || type === TYPE.AAAA) && klass === CLASS.IN) {
    if (length !== (type === TYPE.A ? 4 : 16)) throw new DnsParseError('bad-rdata-length', start);
    return { kind: type === TYPE.A ? 'a' : 'aaaa', address: bytes.slice(start, end) };
  }
  if (type === TYPE.PTR || type === TYPE.SOA) {
    // The rdata is parsed within its own length: a name may point outside it, but not run past it.
    const rdata = bytes.subarray(0, end);
    const cursor: Cursor = { pos: start };
    const first = readName(rdata, cursor);
    if (type === TYPE.PTR) {
      if (cursor.pos !== end) throw new DnsParseError('bad-rdata-length', cursor.pos);
      return { kind: 'ptr', target: first };
    }
    const rname = readName(rdata, cursor);
    if (end - cursor.pos !== 20) throw new DnsParseError('bad-rdata-length', cursor.pos);
    const p = cursor.pos;
    return {
      kind: 'soa',
      mname: first,
      rname,
      serial: u32(bytes, p),
      refresh: u32(bytes, p + 4),
      retry: u32(bytes, p + 8),
      expire: u32(bytes, p + 12),
      minimum: u32(bytes, p + 16),
    };
  }
  return { kind: 'opaque', bytes: bytes.slice(start, end) };
}

/** RFC 6891 §6.1.2-3: the class is the UDP size, the TTL the extended rcode, version and flags. */
function optOf(record: DnsRecord, at: number): DnsOpt {
  const data = record.data.kind === 'opaque' ? record.data.bytes : new Uint8Array(0);
  const options: EdnsOption[] = [];
  for (let p = 0; p < data.length; ) {
    if (p + 4 > data.length) throw new DnsParseError('bad-opt', at);
    const length = u16(data, p + 2);
    if (p + 4 + length > data.length) throw new DnsParseError('bad-opt', at);
    options.push({ code: u16(data, p), data: data.slice(p + 4, p + 4 + length) });
    p += 4 + length;
  }
  return {
    udpSize: record.class,
    extendedRcode: record.ttl >>> 24,
    version: (record.ttl >>> 16) & 0xff,
    flags: record.ttl & 0xffff,
    options,
  };
}

function need(bytes: Uint8Array, at: number, n: number): void {
  if (at + n > bytes.length) throw new DnsParseError('truncated', at);
}

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

const writer = new Writer();

export function encodeMessage(m: DnsMessage): Uint8Array {
  writer.reset();
  writeHeader(writer, m.header);
  writeCounts(
    writer,
    m.questions.length,
    m.answers.length,
    m.authority.length,
    m.additional.length + (m.opt ? 1 : 0),
  );
  for (const q of m.questions) writeQuestion(writer, q);
  for (const r of m.answers) writeRecord(writer, r);
  for (const r of m.authority) writeRecord(writer, r);
  for (const r of m.additional) writeRecord(writer, r);
  if (m.opt) writeOpt(writer, m.opt);
  return writer.take();
}

/** The header's first 4 bytes; the counts follow (writeCounts, or patchCounts once they are known). */
export function writeHeader(w: Writer, h: DnsHeader): void {
  w.u16(h.id);
  w.u16(
    (h.qr ? 0x8000 : 0) |
      ((h.opcode & 0xf) << 11) |
      (h.aa ? 0x0400 : 0) |
      (h.tc ? 0x0200 : 0) |
      (h.rd ? 0x0100 : 0) |
      (h.ra ? 0x0080 : 0) |
      (h.z ? 0x0040 : 0) |
      (h.ad ? 0x0020 : 0) |
      (h.cd ? 0x0010 : 0) |
      (h.rcode & 0xf),
  );
}

export function writeCounts(w: Writer, qd: number, an: number, ns: number, ar: number): void {
  w.u16(count(qd));
  w.u16(count(an));
  w.u16(count(ns));
  w.u16(count(ar));
}

function count(n: number): number {
  if (n > 0xffff) throw new RangeError(`${n} entries in a DNS section`);
  return n;
}

export function writeQuestion(w: Writer, q: DnsQuestion): void {
  writeName(w, q.name);
  w.u16(q.type);
  w.u16(q.class);
}

export function writeRecord(w: Writer, r: DnsRecord): void {
  writeName(w, r.name);
  w.u16(r.type);
  w.u16(r.class);
  w.u32(r.ttl);
  const lengthAt = w.pos;
  w.u16(0);
  const d = r.data;
  switch (d.kind) {
    case 'a':
    case 'aaaa':
      if (
        d.address.length !== (d.kind === 'a' ? 4 : 16) ||
        r.type !== (d.kind === 'a' ? TYPE.A : TYPE.AAAA)
      ) {
        throw new RangeError(`${d.kind} record of type ${r.type} with ${d.address.length} address bytes`);
      }
      w.bytes(d.address);
      break;
    case 'ptr':
      if (r.type !== TYPE.PTR) throw new RangeError(`ptr record of type ${r.type}`);
      writeName(w, d.target);
      break;
    case 'soa':
      if (r.type !== TYPE.SOA) throw new RangeError(`soa record of type ${r.type}`);
      writeName(w, d.mname);
      writeName(w, d.rname);
      w.u32(d.serial);
      w.u32(d.refresh);
      w.u32(d.retry);
      w.u32(d.expire);
      w.u32(d.minimum);
      break;
    default:
      if (d.bytes.length > 0xffff) throw new RangeError(`rdata of ${d.bytes.length} bytes`);
      w.bytes(d.bytes);
  }
  w.patch16(lengthAt, w.pos - lengthAt - 2);
}

export function writeOpt(w: Writer, opt: DnsOpt): void {
  w.u8(0);
  w.u16(TYPE.OPT);
  w.u16(opt.udpSize);
  w.u32(((opt.extendedRcode << 24) | (opt.version << 16) | (opt.flags & 0xffff)) >>> 0);
  const lengthAt = w.pos;
  w.u16(0);
  for (const o of opt.options) {
    w.u16(o.code);
    w.u16(o.data.length);
    w.bytes(o.data);
  }
  w.patch16(lengthAt, w.pos - lengthAt - 2);
}
