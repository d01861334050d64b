/**
 * IP prefixes as the policy engine needs them: parsed strictly (a CIDR with host bits set is an
 * error, since "10.0.0.1/8" is more often a typo than a deliberate 10.0.0.0/8), compared by
 * containment, and formatted canonically ("100.64.0.5/32") for the filters sent to devices.
 * The address text forms are those of WireGuard's AllowedIPs parser, which this reuses.
 */
import { formatAddr, parseCidr } from '../packet/ip-text.js';

export interface Prefix {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, the bits beyond `bits` zero. */
  readonly addr: Uint8Array;
  readonly bits: number;
}

/** "10.0.0.0/8", "fd7a::/48", or a bare address (a /32 or /128). */
export function parsePrefix(text: string): Prefix {
  let parsed: ReturnType<typeof parseCidr>;
  try {
    parsed = parseCidr(text);
  } catch {
    throw new Error(`${JSON.stringify(text)} is not a valid IP address or CIDR`);
  }
  const prefix: Prefix = { family: parsed.family, addr: masked(parsed.addr, parsed.cidr), bits: parsed.cidr };
  if (!sameBytes(prefix.addr, parsed.addr)) {
    throw new Error(`${JSON.stringify(text)} has host bits set (did you mean ${formatPrefix(prefix)}?)`);
  }
  return prefix;
}

/** A single address, without a prefix length, as a /32 or /128. */
export function parseAddress(text: string): Prefix {
  if (text.includes('/')) throw new Error(`${JSON.stringify(text)} is not a single IP address`);
  return parsePrefix(text);
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddr(p.addr)}/${p.bits}`;
}

/** Whether every address of `inner` lies in `outer` (a prefix contains itself). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  return outer.bits <= inner.bits && containsAddress(outer, inner.addr);
}

/** Whether the 4- or 16-byte address lies in `p` (an address of the other family never does). */
export function containsAddress(p: Prefix, addr: Uint8Array): boolean {
  if (p.addr.length !== addr.length) return false;
  const whole = p.bits >>> 3;
  for (let i = 0; i < whole; i++) if (p.addr[i] !== addr[i]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (p.addr[whole]! & mask) === (addr[whole]! & mask);
}

/** The addresses two prefixes share: the longer one if they nest, else none (prefixes never partly overlap). */
export function prefixIntersection(a: Prefix, b: Prefix): Prefix | null {
  if (prefixContains(a, b)) return b;
  if (prefixContains(b, a)) return a;
  return null;
}

/** The two halves of a prefix, one bit longer (the prefix must be shorter than its family's width). */
export function splitPrefix(p: Prefix): [Prefix, Prefix] {
  const upper = p.addr.slice();
  upper[p.bits >>> 3]! |= 0x80 >>> (p.bits & 7);
  return [
    { family: p.family, addr: p.addr, bits: p.bits + 1 },
    { family: p.family, addr: upper, bits: p.bits + 1 },
  ];
}

export const ALL_IPV4: Prefix = parsePrefix('0.0.0.0/0');
export const ALL_IPV6: Prefix = parsePrefix('::/0');

/** `addr` with every bit beyond the first `bits` zero: the prefix's canonical address. */
export function masked(addr: Uint8Array, bits: number): Uint8Array {
  const out = addr.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.min(8, Math.max(0, bits - 8 * i));
    out[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
