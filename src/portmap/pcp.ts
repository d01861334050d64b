/**
 * PCP (RFC 6887): the MAP opcode for a UDP port, and ANNOUNCE to learn that a gateway speaks it.
 * Requests carry the client's own address (§7.1: the server refuses a request whose address is not
 * the packet's source, which is how it notices a NAT between the two) and, for MAP, a 96-bit random
 * nonce that the answer must repeat (§11.1), so an off-path host cannot forge an answer.
 */
import { accept, type Parsed, refuse } from './refusals.js';

export const PCP_PORT = 5351;
const VERSION = 2;
const OP_ANNOUNCE = 0;
const OP_MAP = 1;
const REPLY = 0x80;
const HEADER = 24;
const MAP_PAYLOAD = 36;
/** §7: a PCP message is at most 1100 bytes, and always a multiple of 4. */
const MAX_MESSAGE = 1100;
export const PCP_NONCE_LENGTH = 12;
const UDP = 17;

/** RFC 6887 §7.4's result codes, by number. */
export const PCP_RESULTS = [
  'success',
  'unsupp-version',
  'not-authorized',
  'malformed-request',
  'unsupp-opcode',
  'unsupp-option',
  'malformed-option',
  'network-failure',
  'no-resources',
  'unsupp-protocol',
  'user-ex-quota',
  'cannot-provide-external',
  'address-mismatch',
  'excessive-remote-peers',
] as const;
export type PcpResult = (typeof PCP_RESULTS)[number];

export type PcpAnswer =
  | { op: 'announce'; result: PcpResult; lifetime: number; epoch: number }
  | {
      op: 'map';
      result: PcpResult;
      lifetime: number;
      epoch: number;
      nonce: Uint8Array;
      internalPort: number;
      externalPort: number;
      externalAddress: string;
    };

/** An ANNOUNCE request (lifetime 0): any PCP server answers it, which tells us one is there. */
export function buildAnnounceRequest(clientAddress: string): Uint8Array {
  const out = new Uint8Array(HEADER);
  writeHeader(out, OP_ANNOUNCE, 0, clientAddress);
  return out;
}

/**
 * A MAP request for UDP `internalPort`; `lifetime` 0 deletes the mapping (§15). `externalPort` and
 * `externalAddress` are suggestions (0 and 0.0.0.0: none).
 */
export function buildMapRequest(options: {
  clientAddress: string;
  nonce: Uint8Array;
  internalPort: number;
  lifetime: number;
  externalPort?: number;
  externalAddress?: string;
}): Uint8Array {
  const { nonce, internalPort, lifetime, externalPort = 0, externalAddress = '0.0.0.0' } = options;
  if (nonce.length !== PCP_NONCE_LENGTH) throw new RangeError('the nonce is 12 bytes');
  if (!Number.isInteger(internalPort) || internalPort < 1 || internalPort > 0xffff)
    throw new RangeError(`internalPort out of range: ${internalPort}`);
  if (!Number.isInteger(externalPort) || externalPort < 0 || externalPort > 0xffff)
    throw new RangeError(`externalPort out of range: ${externalPort}`);
  const out = new Uint8Array(HEADER + MAP_PAYLOAD);
  writeHeader(out, OP_MAP, lifetime, options.clientAddress);
  const view = new DataView(out.buffer);
  out.set(nonce, HEADER);
  out[HEADER + 12] = UDP;
  view.setUint16(HEADER + 16, internalPort);
  view.setUint16(HEADER + 18, externalPort);
  out.set(mappedAddress(externalAddress), HEADER + 20);
  return out;
}

/** An answer from the gateway: framing, codes and options checked; the client matches the nonce. */
export function parsePcpAnswer(bytes: Uint8Array): Parsed<PcpAnswer> {
  if (bytes.length < HEADER || bytes.length > MAX_MESSAGE || bytes.length % 4 !== 0)
    return refuse('bad-length');
  if (bytes[0] !== VERSION) return refuse('bad-version');
  const rop = bytes[1]!;
  if (rop !== REPLY + OP_ANNOUNCE && rop !== REPLY + OP_MAP) return refuse('unexpected-opcode');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const result = PCP_RESULTS[bytes[3]!];
  if (result === undefined) return refuse('unknown-result');
  const lifetime = view.getUint32(4);
  const epoch = view.getUint32(8);
  if (rop === REPLY + OP_ANNOUNCE) {
    if (!optionsFramed(bytes, HEADER)) return refuse('bad-option');
    return accept({ op: 'announce', result, lifetime, epoch });
  }
  if (bytes.length < HEADER + MAP_PAYLOAD) return refuse('bad-length');
  if (!optionsFramed(bytes, HEADER + MAP_PAYLOAD)) return refuse('bad-option');
  const p = HEADER;
  const nonce = bytes.slice(p, p + PCP_NONCE_LENGTH);
  const protocol = bytes[p + 12];
  const internalPort = view.getUint16(p + 16);
  const externalPort = view.getUint16(p + 18);
  const externalAddress = readAddress(bytes.subarray(p + 20, p + 36));
  if (result === 'success') {
    if (protocol !== UDP) return refuse('wrong-mapping');
    if (lifetime !== 0 && (externalPort === 0 || externalAddress === null || isUnspecified(externalAddress)))
      return refuse('bad-address');
  }
  return accept({
    op: 'map',
    result,
    lifetime,
    epoch,
    nonce,
    internalPort,
    externalPort,
    externalAddress: externalAddress ?? '',
  });
}

/** Options follow the opcode's payload: code, reserved, a 16-bit length, data padded to 4 (§7.3). */
function optionsFramed(bytes: Uint8Array, from: number): boolean {
  let at = from;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) return false;
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    at += 4 + Math.ceil(length / 4) * 4;
    if (at > bytes.length) return false;
  }
  return true;
}

function writeHeader(out: Uint8Array, op: number, lifetime: number, clientAddress: string): void {
  if (!Number.isInteger(lifetime) || lifetime < 0 || lifetime > 0xffffffff)
    throw new RangeError(`lifetime out of range: ${lifetime}`);
  out[0] = VERSION;
  out[1] = op;
  new DataView(out.buffer).setUint32(4, lifetime);
  out.set(mappedAddress(clientAddress), 8);
}

/** An IPv4 address as PCP carries every address: IPv4-mapped IPv6 (::ffff:a.b.c.d). */
function mappedAddress(ipv4: string): Uint8Array {
  const parts = ipv4.split('.').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255))
    throw new RangeError(`not an IPv4 address: ${ipv4}`);
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(parts, 12);
  return out;
}

/** The IPv4 address in an IPv4-mapped field; null for a real IPv6 one (we map IPv4 only). */
function readAddress(field: Uint8Array): string | null {
  for (let i = 0; i < 10; i++) if (field[i] !== 0) return null;
  if (field[10] !== 0xff || field[11] !== 0xff) return null;
  return [...field.subarray(12)].join('.');
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0';
}
