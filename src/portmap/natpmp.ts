/**
 * NAT-PMP (RFC 6886): the external address request and UDP mappings. A client sends to the gateway's
 * port 5351; every answer is a fixed size, so anything else is refused.
 */
import { accept, type Parsed, refuse } from './refusals.js';

export const NATPMP_PORT = 5351;
const VERSION = 0;
const OP_EXTERNAL_ADDRESS = 0;
const OP_MAP_UDP = 1;
const OP_MAP_TCP = 2;
const REPLY = 128;

/** RFC 6886 §3.5's result codes. */
export const NATPMP_RESULTS = [
  'success',
  'unsupported-version',
  'not-authorized',
  'network-failure',
  'out-of-resources',
  'unsupported-opcode',
] as const;
export type NatPmpResult = (typeof NATPMP_RESULTS)[number];

export type NatPmpAnswer =
  | { op: 'external-address'; result: NatPmpResult; epoch: number; address: string }
  | {
      op: 'map';
      protocol: 'udp' | 'tcp';
      result: NatPmpResult;
      epoch: number;
      internalPort: number;
      externalPort: number;
      lifetime: number;
    };

export function buildExternalAddressRequest(): Uint8Array {
  return new Uint8Array([VERSION, OP_EXTERNAL_ADDRESS]);
}

/**
 * A UDP mapping request for `internalPort`; `lifetime` 0 with `externalPort` 0 deletes it (§3.4).
 * `externalPort` is only a suggestion.
 */
export function buildMapRequest(internalPort: number, externalPort: number, lifetime: number): Uint8Array {
  checkPort(internalPort, 'internalPort');
  checkPort(externalPort, 'externalPort', true);
  if (!Number.isInteger(lifetime) || lifetime < 0 || lifetime > 0xffffffff)
    throw new RangeError(`lifetime out of range: ${lifetime}`);
  const out = new Uint8Array(12);
  const view = new DataView(out.buffer);
  out[0] = VERSION;
  out[1] = OP_MAP_UDP;
  view.setUint16(4, internalPort);
  view.setUint16(6, externalPort);
  view.setUint32(8, lifetime);
  return out;
}

/** An answer from the gateway, checked for its framing and codes; the client matches it to its request. */
export function parseNatPmpAnswer(bytes: Uint8Array): Parsed<NatPmpAnswer> {
  if (bytes.length < 2) return refuse('bad-length');
  if (bytes[0] !== VERSION) return refuse('bad-version');
  const op = bytes[1]!;
  if (op !== REPLY + OP_EXTERNAL_ADDRESS && op !== REPLY + OP_MAP_UDP && op !== REPLY + OP_MAP_TCP)
    return refuse('unexpected-opcode');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Error answers may be cut short after the epoch (§3.5 lets a server send only the header).
  const expected = op === REPLY + OP_EXTERNAL_ADDRESS ? 12 : 16;
  if (bytes.length < 8) return refuse('bad-length');
  const code = view.getUint16(2);
  const result = NATPMP_RESULTS[code];
  if (result === undefined) return refuse('unknown-result');
  const epoch = view.getUint32(4);
  if (bytes.length !== expected && !(result !== 'success' && bytes.length === 8)) return refuse('bad-length');
  if (op === REPLY + OP_EXTERNAL_ADDRESS) {
    const address = bytes.length === 12 ? [...bytes.subarray(8, 12)].join('.') : '0.0.0.0';
    if (result === 'success' && address === '0.0.0.0') return refuse('bad-address');
    return accept({ op: 'external-address', result, epoch, address });
  }
  const internalPort = bytes.length === 16 ? view.getUint16(8) : 0;
  const externalPort = bytes.length === 16 ? view.getUint16(10) : 0;
  const lifetime = bytes.length === 16 ? view.getUint32(12) : 0;
  if (result === 'success' && (internalPort === 0 || (externalPort === 0 && lifetime !== 0)))
    return refuse('bad-address');
  return accept({
    op: 'map',
    protocol: op === REPLY + OP_MAP_UDP ? 'udp' : 'tcp',
    result,
    epoch,
    internalPort,
    externalPort,
    lifetime,
  });
}

function checkPort(port: number, name: string, zeroOk = false): void {
  if (!Number.isInteger(port) || port < (zeroOk ? 0 : 1) || port > 0xffff)
    throw new RangeError(`${name} out of range: ${port}`);
}
