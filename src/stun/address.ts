/**
 * The address attributes (RFC 5389 §15.1 and §15.2): MAPPED-ADDRESS as is, and XOR-MAPPED-ADDRESS
 * XORed with the magic cookie (and, for IPv6, the transaction id), which keeps NATs that rewrite
 * addresses they find in payloads from "fixing" it.
 */

import { formatAddr, parseCidr } from '../packet/ip-text.js';
import { MAGIC_COOKIE } from './message.js';
import type { StunRefusal } from './refusals.js';

/** A UDP endpoint: an IP address in text form (IPv6 in RFC 5952 form) and a port. */
export interface StunEndpoint {
  readonly host: string;
  readonly port: number;
}

const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;

export type AddressDecode = { ok: true; endpoint: StunEndpoint } | { ok: false; reason: StunRefusal };

/** Decodes an address attribute's value; `transactionId` is given for XOR-MAPPED-ADDRESS only. */
export function decodeAddress(value: Uint8Array, transactionId?: Uint8Array): AddressDecode {
  if (value.length < 4) return { ok: false, reason: 'bad-address-length' };
  // value[0] is reserved: RFC 5389 says to ignore it.
  const family = value[1];
  const addressLength = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : 0;
  if (addressLength === 0) return { ok: false, reason: 'bad-address-family' };
  if (value.length !== 4 + addressLength) return { ok: false, reason: 'bad-address-length' };
  const addr = value.slice(4);
  let port = (value[2]! << 8) | value[3]!;
  if (transactionId !== undefined) {
    const mask = xorMask(transactionId);
    port ^= MAGIC_COOKIE >>> 16;
    for (let i = 0; i < addr.length; i++) addr[i] = addr[i]! ^ mask[i]!;
  }
  return { ok: true, endpoint: { host: formatAddr(addr), port } };
}

/**
 * Encodes an endpoint as an address attribute's value, XORed when `transactionId` is given.
 * Throws RangeError if the host is not an IP address or the port not 0-65535.
 */
export function encodeAddress(endpoint: StunEndpoint, transactionId?: Uint8Array): Uint8Array {
  const { host, port } = endpoint;
  if (!(Number.isInteger(port) && port >= 0 && port <= 0xffff)) {
    throw new RangeError(`port must be 0-65535, got ${port}`);
  }
  if (host.includes('/')) throw new RangeError(`not an IP address: ${JSON.stringify(host)}`);
  let addr: Uint8Array;
  try {
    addr = parseCidr(host).addr;
  } catch {
    throw new RangeError(`not an IP address: ${JSON.stringify(host)}`);
  }
  const out = new Uint8Array(4 + addr.length);
  out[1] = addr.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  const wirePort = transactionId === undefined ? port : port ^ (MAGIC_COOKIE >>> 16);
  out[2] = wirePort >>> 8;
  out[3] = wirePort & 0xff;
  const mask = transactionId === undefined ? undefined : xorMask(transactionId);
  for (let i = 0; i < addr.length; i++) out[4 + i] = addr[i]! ^ (mask?.[i] ?? 0);
  return out;
}

/** The magic cookie followed by the transaction id: what an XOR-MAPPED-ADDRESS is XORed with. */
function xorMask(transactionId: Uint8Array): Uint8Array {
  const mask = new Uint8Array(16);
  new DataView(mask.buffer).setUint32(0, MAGIC_COOKIE);
  mask.set(transactionId, 4);
  return mask;
}
