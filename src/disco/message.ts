/**
 * Disco (path discovery) messages: what peers say to each other inside a sealed disco packet
 * (box.ts), to find and keep the best path between them, direct UDP or the relay.
 *
 *   byte 0 type, byte 1 version (0, or 1 for a call-me-maybe with kinds), then by type:
 *   1 ping           txid (12) ‖ sender's WireGuard public key (32)
 *   2 pong           txid (12) ‖ endpoint (18): where the ping was seen coming from; all 18 bytes
 *                    zero for a ping that came through the relay, which has no address to report
 *   3 call-me-maybe  version 0: endpoint (18) × 0..32: where to reach the sender; ping me there
 *                    version 1: (endpoint (18) ‖ kind (1)) × 1..32: the same, each with how the
 *                    sender knows it (1 local: an interface address, 2 stun: as a STUN server saw
 *                    it, 3 port-mapping: mapped by its gateway on request), as Tailscale's netmap
 *                    tells endpoint types; a peer can then say a path was found by port mapping
 *
 * An endpoint is a 16-byte IPv6 address (IPv4 as ::ffff:a.b.c.d) and a big-endian port, never 0.
 * Every message has exactly one encoding: the parser refuses anything else (trailing bytes included),
 * so parsing and encoding again gives back the same bytes.
 */

import { formatAddr, parseCidr } from '../packet/ip-text.js';

/** How the sender of a call-me-maybe knows an endpoint of its own. */
export const ENDPOINT_KINDS = ['local', 'stun', 'port-mapping'] as const;
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];

/**
 * A UDP endpoint: an IPv4 address dotted, or IPv6 text without brackets (RFC 5952 when parsed); in
 * a call-me-maybe, with its kind when the sender tells it.
 */
export interface DiscoEndpoint {
  host: string;
  port: number;
  kind?: EndpointKind;
}

export type DiscoMessage =
  | { type: 'ping'; txid: Uint8Array; nodeKey: Uint8Array }
  | { type: 'pong'; txid: Uint8Array; src: DiscoEndpoint | null }
  | { type: 'call-me-maybe'; endpoints: DiscoEndpoint[] };

export const DISCO_REFUSALS = [
  // Shorter than the two-byte header, or than the message's fixed fields, or a partial endpoint.
  'truncated',
  // A type byte we do not know.
  'unknown-type',
  // A version other than 0: a future format we cannot read.
  'bad-version',
  // Bytes after the message's last field.
  'trailing-bytes',
  // A call-me-maybe longer than MAX_ENDPOINTS endpoints.
  'too-many-endpoints',
  // An endpoint with port 0, which nothing can be sent to.
  'bad-port',
  // A call-me-maybe endpoint's kind byte that names no kind.
  'bad-kind',
] as const;

export type DiscoRefusal = (typeof DISCO_REFUSALS)[number];

/** A plaintext that does not parse; `reason` names why, for refusal counters. */
export class DiscoError extends Error {
  constructor(readonly reason: DiscoRefusal) {
    super(`malformed disco message: ${reason}`);
  }
}

export const TXID_LENGTH = 12;
const NODE_KEY_LENGTH = 32;
const ENDPOINT_LENGTH = 18;
/** A call-me-maybe's endpoint with its kind (version 1). */
const KINDED_LENGTH = ENDPOINT_LENGTH + 1;
/** Enough for every address a device has (LAN, STUN-mapped, IPv6) with room to spare, and bounded. */
export const MAX_ENDPOINTS = 32;
const HEADER_LENGTH = 2;
const VERSION = 0;
/** A call-me-maybe whose endpoints carry their kinds. */
const KINDS_VERSION = 1;
const PING = 1;
const PONG = 2;
const CALL_ME_MAYBE = 3;
const PING_LENGTH = HEADER_LENGTH + TXID_LENGTH + NODE_KEY_LENGTH;
const PONG_LENGTH = HEADER_LENGTH + TXID_LENGTH + ENDPOINT_LENGTH;
/** The shortest message: a call-me-maybe with no endpoints. */
export const MIN_DISCO_MESSAGE = HEADER_LENGTH;
/** The longest message: a call-me-maybe with MAX_ENDPOINTS endpoints and their kinds. */
export const MAX_DISCO_MESSAGE = HEADER_LENGTH + MAX_ENDPOINTS * KINDED_LENGTH;

const IPV4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/**
 * Parses a decrypted disco message. Throws DiscoError and nothing else. Byte fields are copies, so
 * the message stays valid when the caller reuses its receive buffer.
 */
export function parseDiscoMessage(plain: Uint8Array): DiscoMessage {
  if (plain.length < HEADER_LENGTH) throw new DiscoError('truncated');
  const type = plain[0];
  if (type !== PING && type !== PONG && type !== CALL_ME_MAYBE) throw new DiscoError('unknown-type');
  const kinds = type === CALL_ME_MAYBE && plain[1] === KINDS_VERSION;
  if (plain[1] !== VERSION && !kinds) throw new DiscoError('bad-version');
  switch (type) {
    case PING:
      exactLength(plain, PING_LENGTH);
      return {
        type: 'ping',
        txid: plain.slice(HEADER_LENGTH, HEADER_LENGTH + TXID_LENGTH),
        nodeKey: plain.slice(HEADER_LENGTH + TXID_LENGTH),
      };
    case PONG:
      exactLength(plain, PONG_LENGTH);
      return {
        type: 'pong',
        txid: plain.slice(HEADER_LENGTH, HEADER_LENGTH + TXID_LENGTH),
        src: plain.subarray(HEADER_LENGTH + TXID_LENGTH).every((b) => b === 0)
          ? null
          : decodeEndpoint(plain, HEADER_LENGTH + TXID_LENGTH),
      };
    default: {
      const size = kinds ? KINDED_LENGTH : ENDPOINT_LENGTH;
      const body = plain.length - HEADER_LENGTH;
      if (body > MAX_ENDPOINTS * size) throw new DiscoError('too-many-endpoints');
      // With kinds, at least one endpoint: an empty list has one encoding, version 0's.
      if (body % size !== 0 || (kinds && body === 0)) throw new DiscoError('truncated');
      const endpoints: DiscoEndpoint[] = [];
      for (let at = HEADER_LENGTH; at < plain.length; at += size) {
        const endpoint = decodeEndpoint(plain, at);
        if (kinds) {
          const kind = ENDPOINT_KINDS[plain[at + ENDPOINT_LENGTH]! - 1];
          if (kind === undefined) throw new DiscoError('bad-kind');
          endpoint.kind = kind;
        }
        endpoints.push(endpoint);
      }
      return { type: 'call-me-maybe', endpoints };
    }
  }
}

/** Encodes a message. Throws RangeError on a bad field (our own values, so a bug). */
export function encodeDiscoMessage(m: DiscoMessage): Uint8Array {
  switch (m.type) {
    case 'ping': {
      const out = header(PING, PING_LENGTH);
      out.set(checkLength(m.txid, TXID_LENGTH, 'txid'), HEADER_LENGTH);
      out.set(checkLength(m.nodeKey, NODE_KEY_LENGTH, 'nodeKey'), HEADER_LENGTH + TXID_LENGTH);
      return out;
    }
    case 'pong': {
      const out = header(PONG, PONG_LENGTH);
      out.set(checkLength(m.txid, TXID_LENGTH, 'txid'), HEADER_LENGTH);
      if (m.src !== null) encodeEndpoint(m.src, out, HEADER_LENGTH + TXID_LENGTH);
      return out;
    }
    case 'call-me-maybe': {
      const { endpoints } = m;
      if (!Array.isArray(endpoints) || endpoints.length > MAX_ENDPOINTS) {
        throw new RangeError(`endpoints must be an array of at most ${MAX_ENDPOINTS}`);
      }
      // Kinds for every endpoint or for none: a version 1 message has them all.
      const kinds = endpoints.filter((e) => e.kind !== undefined).length;
      if (kinds !== 0 && kinds !== endpoints.length) throw new RangeError('kinds for some endpoints only');
      const size = kinds > 0 ? KINDED_LENGTH : ENDPOINT_LENGTH;
      const out = header(
        CALL_ME_MAYBE,
        HEADER_LENGTH + endpoints.length * size,
        kinds > 0 ? KINDS_VERSION : VERSION,
      );
      endpoints.forEach((endpoint, i) => {
        encodeEndpoint(endpoint, out, HEADER_LENGTH + i * size);
        if (kinds === 0) return;
        const code = ENDPOINT_KINDS.indexOf(endpoint.kind!);
        if (code < 0) throw new RangeError(`unknown endpoint kind ${JSON.stringify(endpoint.kind)}`);
        out[HEADER_LENGTH + i * size + ENDPOINT_LENGTH] = code + 1;
      });
      return out;
    }
    default:
      throw new RangeError(`unknown disco message type ${JSON.stringify((m as { type: unknown }).type)}`);
  }
}

function exactLength(plain: Uint8Array, length: number): void {
  if (plain.length < length) throw new DiscoError('truncated');
  if (plain.length > length) throw new DiscoError('trailing-bytes');
}

function decodeEndpoint(plain: Uint8Array, at: number): DiscoEndpoint {
  const port = (plain[at + 16]! << 8) | plain[at + 17]!;
  if (port === 0) throw new DiscoError('bad-port');
  const addr = plain.subarray(at, at + 16);
  const mapped = IPV4_MAPPED_PREFIX.every((byte, i) => addr[i] === byte);
  return { host: formatAddr(mapped ? addr.subarray(12) : addr), port };
}

/**
 * Writes an endpoint's 18 bytes at `at`. An IPv4-mapped IPv6 host ("::ffff:192.0.2.7") is accepted,
 * as a dual-stack socket reports one; it has the same bytes as the IPv4 address, so it parses as that.
 */
function encodeEndpoint(endpoint: DiscoEndpoint, out: Uint8Array, at: number): void {
  const { host, port } = endpoint;
  if (!(Number.isInteger(port) && port >= 1 && port <= 0xffff)) {
    throw new RangeError(`port must be 1-65535, got ${port}`);
  }
  let addr: Uint8Array;
  try {
    // parseCidr also takes a prefix length, which an endpoint does not have.
    if (typeof host !== 'string' || host.includes('/')) throw new Error('not a bare address');
    addr = parseCidr(host).addr;
  } catch {
    throw new RangeError(`not an IP address: ${JSON.stringify(host)}`);
  }
  if (addr.length === 4) {
    out.set(IPV4_MAPPED_PREFIX, at);
    out.set(addr, at + 12);
  } else {
    out.set(addr, at);
  }
  out[at + 16] = port >>> 8;
  out[at + 17] = port & 0xff;
}

function header(type: number, length: number, version = VERSION): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = type;
  out[1] = version;
  return out;
}

function checkLength(bytes: Uint8Array, length: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes, got ${bytes?.length}`);
  }
  return bytes;
}
