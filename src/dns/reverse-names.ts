/**
 * Reverse names (RFC 1035 §3.5, RFC 3596 §2.5): an address's octets, or its nibbles, in reverse
 * order under in-addr.arpa or ip6.arpa. The resolver files each device address under its reverse
 * name, and reads a queried reverse name back into address bits to tell whether it falls in a zone
 * it answers for.
 */

const V4_SUFFIX = '.in-addr.arpa';
const V6_SUFFIX = '.ip6.arpa';
const HEX = '0123456789abcdef';

/** The reverse name of the first `bits` of `addr` (whole octets or nibbles), lowercase. */
export function reverseName(addr: Uint8Array, bits = addr.length * 8): string {
  const parts: string[] = [];
  if (addr.length === 4) {
    for (let i = (bits >>> 3) - 1; i >= 0; i--) parts.push(String(addr[i]));
    return parts.join('.') + V4_SUFFIX;
  }
  for (let n = (bits >>> 2) - 1; n >= 0; n--) {
    const byte = addr[n >>> 1]!;
    parts.push(HEX[n & 1 ? byte & 0xf : byte >>> 4]!);
  }
  return parts.join('.') + V6_SUFFIX;
}

/** What a reverse name says: the address bits its labels spell, and whether labels are left over. */
export interface ReverseRead {
  family: 4 | 6;
  /** 4 or 16 bytes; bits past `bits` are zero. */
  addr: Uint8Array;
  /** How many leading bits the labels give: a multiple of 8 (IPv4) or 4 (IPv6). */
  bits: number;
  /** Labels before those: not an octet or nibble, or more than an address has. */
  extra: boolean;
}

/** A name key under in-addr.arpa or ip6.arpa, read; null for any other name. */
export function readReverseName(key: string): ReverseRead | null {
  const v4 = key.endsWith(V4_SUFFIX);
  if (!v4 && !key.endsWith(V6_SUFFIX)) return null;
  const body = key.slice(0, key.length - (v4 ? V4_SUFFIX : V6_SUFFIX).length);
  const labels = body === '' ? [] : body.split('.');
  const addr = new Uint8Array(v4 ? 4 : 16);
  const max = v4 ? 4 : 32;
  let taken = 0;
  // From the label next to the suffix (the address's first octet or nibble) outwards.
  for (let i = labels.length - 1; i >= 0 && taken < max; i--) {
    const value = v4 ? octet(labels[i]!) : nibble(labels[i]!);
    if (value < 0) break;
    if (v4) addr[taken] = value;
    else addr[taken >>> 1]! |= taken & 1 ? value : value << 4;
    taken++;
  }
  return { family: v4 ? 4 : 6, addr, bits: taken * (v4 ? 8 : 4), extra: taken < labels.length };
}

/** A decimal octet as inet_aton would not misread: no leading zeros, at most 255; else -1. */
function octet(label: string): number {
  if (label.length === 0 || label.length > 3 || (label.length > 1 && label[0] === '0')) return -1;
  let n = 0;
  for (let i = 0; i < label.length; i++) {
    const d = label.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= 255 ? n : -1;
}

/** One lowercase hex digit (names arrive as keys, already lowercase); else -1. */
function nibble(label: string): number {
  return label.length === 1 ? HEX.indexOf(label) : -1;
}
