/**
 * Trace probe messages: how `burrow trace` asks a peer what its inbound filter would do with one
 * packet, and how the peer answers (stage 6 of a trace, "the peer's verdict"). They travel as the
 * payload of an IP packet inside the tunnel (probe-packet.ts), which WireGuard authenticates.
 *
 *   byte 0 type, byte 1 version (0), byte 2..9 id (random, chosen by the asker), then by type:
 *   1 request  protocol (1: 6 tcp, 17 udp, 1 icmp) ‖ flags (1: bit 0, tell whether the port
 *              listens; the rest 0) ‖ dst port (2: 1-65535 for tcp and udp, 0 for icmp) ‖
 *              src (16) ‖ dst (16): the packet asked about, addresses of one family (IPv4 as
 *              ::ffff:a.b.c.d)
 *   2 answer   reason (1: see REASON_CODES) ‖ rule (4: the index of the admitting rule for reason
 *              policy, 0xffffffff otherwise) ‖ listening (1: 0 not told, 1 something listens,
 *              2 nothing does) ‖ rule text length (1) ‖ rule text (printable ASCII, 1-255 bytes
 *              for reason policy, none otherwise)
 *
 * Every message has exactly one encoding: the parser refuses anything else, trailing bytes
 * included, and names the field it refused. Sizes are fixed or bounded (MAX_PROBE_MESSAGE). The
 * rule text is printable ASCII only, so a peer cannot put terminal escapes into the asker's CLI.
 */
import { formatAddr, parseCidr } from '../packet/ip-text.js';

export type ProbeProtocol = 'tcp' | 'udp' | 'icmp';

/** What the peer's filter would do with the packet: the first two admit it, the rest drop it. */
export type PeerVerdictReason =
  | 'established'
  | 'policy'
  | 'shields-up'
  | 'quarantined'
  | 'not-allowed-by-policy';

export interface ProbeRequest {
  readonly type: 'request';
  /** 16 lower-case hex digits. */
  readonly id: string;
  readonly protocol: ProbeProtocol;
  /** The packet asked about: from `src` (the asker's own tunnel address) to `dst`:`port`. */
  readonly src: string;
  readonly dst: string;
  /** 1-65535 for tcp and udp, 0 for icmp. */
  readonly port: number;
  /** Ask whether something listens on the port (told only if the packet would be admitted). */
  readonly askListening: boolean;
}

export interface ProbeAnswer {
  readonly type: 'answer';
  readonly id: string;
  readonly reason: PeerVerdictReason;
  /** For reason policy: the admitting rule's index and the part of it that admits the packet. */
  readonly rule: number | null;
  readonly ruleText: string | null;
  /** Whether something listens on the port; null when not asked or not told. */
  readonly listening: boolean | null;
}

export type ProbeMessage = ProbeRequest | ProbeAnswer;

/** The fields a parser can refuse; each is a refusal counter's name. */
export const PROBE_FIELDS = [
  'ip-header', // the IP packet around the message: see probe-packet.ts
  'length', // shorter than the message's fields, or bytes after them
  'type',
  'version',
  'protocol',
  'flags',
  'port',
  'address', // src and dst of different families
  'reason',
  'rule',
  'listening',
  'rule-text',
] as const;
export type ProbeField = (typeof PROBE_FIELDS)[number];

/** A message that does not parse; `field` names what was wrong with it. */
export class ProbeError extends Error {
  constructor(
    readonly field: ProbeField,
    detail: string,
  ) {
    super(`malformed trace probe: ${field}: ${detail}`);
  }
}

export function probeAllows(reason: PeerVerdictReason): boolean {
  return reason === 'established' || reason === 'policy';
}

const VERSION = 0;
const REQUEST = 1;
const ANSWER = 2;
const HEADER = 10; // type, version, id
const ID_LENGTH = 8;
export const REQUEST_LENGTH = HEADER + 1 + 1 + 2 + 16 + 16;
const ANSWER_FIXED = HEADER + 1 + 4 + 1 + 1;
export const MAX_RULE_TEXT_BYTES = 255;
export const MAX_PROBE_MESSAGE = ANSWER_FIXED + MAX_RULE_TEXT_BYTES;
const NO_RULE = 0xffffffff;
const ASK_LISTENING = 1;

const PROTOCOL_CODES: Record<ProbeProtocol, number> = { tcp: 6, udp: 17, icmp: 1 };
/** Codes on the wire; 0 is never sent, so a zeroed answer does not parse. */
const REASON_CODES: Record<PeerVerdictReason, number> = {
  established: 1,
  policy: 2,
  'shields-up': 3,
  quarantined: 4,
  'not-allowed-by-policy': 5,
};
const ID = /^[0-9a-f]{16}$/;
const IPV4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** Parses a probe message. Throws ProbeError and nothing else. */
export function parseProbeMessage(bytes: Uint8Array): ProbeMessage {
  if (bytes.length < HEADER)
    throw new ProbeError('length', `${bytes.length} bytes, the header alone is ${HEADER}`);
  const type = bytes[0];
  if (type !== REQUEST && type !== ANSWER) throw new ProbeError('type', `unknown type ${type}`);
  if (bytes[1] !== VERSION) throw new ProbeError('version', `version ${bytes[1]}, not ${VERSION}`);
  const id = hex(bytes.subarray(2, HEADER));
  if (type === REQUEST) {
    exactLength(bytes, REQUEST_LENGTH);
    const protocol = keyOf(PROTOCOL_CODES, bytes[HEADER]!);
    if (protocol === undefined)
      throw new ProbeError('protocol', `protocol ${bytes[HEADER]} is not tcp, udp or icmp`);
    const flags = bytes[HEADER + 1]!;
    if ((flags & ~ASK_LISTENING) !== 0)
      throw new ProbeError('flags', `unknown flags 0x${flags.toString(16)}`);
    const port = (bytes[HEADER + 2]! << 8) | bytes[HEADER + 3]!;
    checkPort(protocol, port, (detail) => new ProbeError('port', detail));
    const src = bytes.subarray(HEADER + 4, HEADER + 20);
    const dst = bytes.subarray(HEADER + 20, HEADER + 36);
    if (isMapped(src) !== isMapped(dst))
      throw new ProbeError('address', 'src and dst are of different families');
    return {
      type: 'request',
      id,
      protocol,
      src: formatAddress(src),
      dst: formatAddress(dst),
      port,
      askListening: flags === ASK_LISTENING,
    };
  }
  if (bytes.length < ANSWER_FIXED) {
    throw new ProbeError('length', `${bytes.length} bytes, an answer has at least ${ANSWER_FIXED}`);
  }
  const reason = keyOf(REASON_CODES, bytes[HEADER]!);
  if (reason === undefined) throw new ProbeError('reason', `unknown reason ${bytes[HEADER]}`);
  const rule =
    ((bytes[HEADER + 1]! << 24) |
      (bytes[HEADER + 2]! << 16) |
      (bytes[HEADER + 3]! << 8) |
      bytes[HEADER + 4]!) >>>
    0;
  const byPolicy = reason === 'policy';
  if (byPolicy === (rule === NO_RULE)) {
    throw new ProbeError(
      'rule',
      byPolicy ? 'an admitting rule has no index' : `a ${reason} answer names rule ${rule}`,
    );
  }
  const listeningCode = bytes[HEADER + 5]!;
  if (listeningCode > 2 || (listeningCode !== 0 && !probeAllows(reason))) {
    throw new ProbeError('listening', `listening ${listeningCode} with reason ${reason}`);
  }
  const textLength = bytes[HEADER + 6]!;
  exactLength(bytes, ANSWER_FIXED + textLength);
  if (byPolicy === (textLength === 0)) {
    throw new ProbeError(
      'rule-text',
      byPolicy ? 'an admitting rule has no text' : `a ${reason} answer has rule text`,
    );
  }
  const textBytes = bytes.subarray(ANSWER_FIXED);
  if (!textBytes.every(printable)) throw new ProbeError('rule-text', 'not printable ASCII');
  return {
    type: 'answer',
    id,
    reason,
    rule: byPolicy ? rule : null,
    ruleText: byPolicy ? String.fromCharCode(...textBytes) : null,
    listening: listeningCode === 0 ? null : listeningCode === 1,
  };
}

/** Encodes a message. Throws RangeError on a bad field (our own values, so a bug). */
export function encodeProbeMessage(m: ProbeMessage): Uint8Array {
  if (typeof m.id !== 'string' || !ID.test(m.id))
    throw new RangeError(`id must be 16 hex digits, got ${m.id}`);
  if (m.type === 'request') {
    const out = header(REQUEST, m.id, REQUEST_LENGTH);
    const protocol = PROTOCOL_CODES[m.protocol];
    if (protocol === undefined) throw new RangeError(`unknown protocol ${m.protocol}`);
    checkPort(m.protocol, m.port, (detail) => new RangeError(detail));
    const src = addressBytes(m.src);
    const dst = addressBytes(m.dst);
    if (isMapped(src) !== isMapped(dst))
      throw new RangeError(`${m.src} and ${m.dst} are of different families`);
    out[HEADER] = protocol;
    out[HEADER + 1] = m.askListening ? ASK_LISTENING : 0;
    out[HEADER + 2] = m.port >>> 8;
    out[HEADER + 3] = m.port & 0xff;
    out.set(src, HEADER + 4);
    out.set(dst, HEADER + 20);
    return out;
  }
  if (m.type !== 'answer')
    throw new RangeError(`unknown probe message type ${(m as { type: unknown }).type}`);
  const reason = REASON_CODES[m.reason];
  if (reason === undefined) throw new RangeError(`unknown reason ${m.reason}`);
  const byPolicy = m.reason === 'policy';
  const text = byPolicy ? (m.ruleText ?? '') : '';
  if (byPolicy !== (m.rule !== null) || (!byPolicy && m.ruleText !== null)) {
    throw new RangeError('rule and ruleText go with reason policy, and only with it');
  }
  if (byPolicy && !(Number.isInteger(m.rule) && m.rule! >= 0 && m.rule! < NO_RULE)) {
    throw new RangeError(`rule index ${m.rule} is out of range`);
  }
  const textBytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
  if (
    byPolicy &&
    (textBytes.length === 0 || textBytes.length > MAX_RULE_TEXT_BYTES || !textBytes.every(printable))
  ) {
    throw new RangeError(`rule text must be 1-${MAX_RULE_TEXT_BYTES} printable ASCII characters`);
  }
  if (m.listening !== null && !probeAllows(m.reason)) {
    throw new RangeError('whether a port listens is told only for a packet that would be admitted');
  }
  const out = header(ANSWER, m.id, ANSWER_FIXED + textBytes.length);
  const rule = byPolicy ? m.rule! : NO_RULE;
  out[HEADER] = reason;
  out.set([rule >>> 24, (rule >>> 16) & 0xff, (rule >>> 8) & 0xff, rule & 0xff], HEADER + 1);
  out[HEADER + 5] = m.listening === null ? 0 : m.listening ? 1 : 2;
  out[HEADER + 6] = textBytes.length;
  out.set(textBytes, ANSWER_FIXED);
  return out;
}

function header(type: number, id: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = type;
  out[1] = VERSION;
  for (let i = 0; i < ID_LENGTH; i++) out[2 + i] = Number.parseInt(id.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function exactLength(bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) {
    throw new ProbeError('length', `${bytes.length} bytes where the message has ${length}`);
  }
}

function checkPort(protocol: ProbeProtocol, port: number, error: (detail: string) => Error): void {
  const ok = protocol === 'icmp' ? port === 0 : Number.isInteger(port) && port >= 1 && port <= 65535;
  if (!ok) throw error(`port ${port} for ${protocol} (tcp and udp take 1-65535, icmp 0)`);
}

function printable(byte: number): boolean {
  return byte >= 0x20 && byte <= 0x7e;
}

function keyOf<K extends string>(codes: Record<K, number>, code: number): K | undefined {
  return (Object.keys(codes) as K[]).find((k) => codes[k] === code);
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function isMapped(addr: Uint8Array): boolean {
  return IPV4_MAPPED_PREFIX.every((byte, i) => addr[i] === byte);
}

/** An address's 16 bytes on the wire: IPv6 as is, IPv4 mapped. Throws RangeError on anything else. */
function addressBytes(text: string): Uint8Array {
  const addr = parseAddressText(text);
  if (addr === null) throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
  // An IPv4-mapped IPv6 address would come back as IPv4: one encoding per message.
  if (addr.length === 16 && isMapped(addr)) throw new RangeError(`write ${text} as IPv4`);
  if (addr.length === 16) return addr;
  const out = new Uint8Array(16);
  out.set(IPV4_MAPPED_PREFIX);
  out.set(addr, 12);
  return out;
}

function formatAddress(addr: Uint8Array): string {
  return formatAddr(isMapped(addr) ? addr.subarray(12) : addr);
}

function parseAddressText(text: string): Uint8Array | null {
  if (typeof text !== 'string' || text.includes('/')) return null;
  try {
    return parseCidr(text).addr;
  } catch {
    return null;
  }
}
