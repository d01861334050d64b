/** IP addresses and prefixes as text: strict parsing, and RFC 5952 formatting. */

/**
 * Strictly parses "10.0.0.0/8", "fd00::/64", "::/0" or a bare address (meaning /32 or /128).
 * The address is returned as written, host bits included (an interface Address such as
 * 10.0.0.7/24 needs them); AllowedIps.insert masks them off. No whitespace, zone, brackets,
 * leading zeros in decimal fields or extra text are accepted.
 */
export function parseCidr(text: string): { addr: Uint8Array; cidr: number; family: 4 | 6 } {
  if (typeof text !== 'string') throw new Error('invalid CIDR: expected a string');
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const addr = addrText.includes(':') ? parseIpv6(addrText) : parseIpv4(addrText);
  if (addr === null) throw new Error(`invalid CIDR ${JSON.stringify(text)}: not an IPv4 or IPv6 address`);
  const family = addr.length === 4 ? 4 : 6;
  const max = addr.length * 8;
  if (slash === -1) return { addr, cidr: max, family };
  const prefix = text.slice(slash + 1);
  if (!DECIMAL.test(prefix)) {
    throw new Error(`invalid CIDR ${JSON.stringify(text)}: prefix length must be a decimal number`);
  }
  const cidr = Number(prefix);
  if (cidr > max) {
    throw new Error(
      `invalid CIDR ${JSON.stringify(text)}: prefix length ${cidr} exceeds ${max} for IPv${family}`,
    );
  }
  return { addr, cidr, family };
}

// A decimal field of at most three digits, without leading zeros (as inet_pton requires).
const DECIMAL = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!DECIMAL.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** RFC 4291 text form: eight hex groups, at most one "::", optionally a dotted IPv4 tail. */
function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1]!, true) : [];
  if (head === null || tail === null) return null;
  const groups = head.length + tail.length;
  // "::" stands for at least one zero group.
  if (halves.length === 2 ? groups > 7 : groups !== 8) return null;
  const out = new Uint8Array(16);
  const put = (values: number[], at: number) => {
    for (let i = 0; i < values.length; i++) {
      out[2 * (at + i)] = values[i]! >>> 8;
      out[2 * (at + i) + 1] = values[i]! & 0xff;
    }
  };
  put(head, 0);
  put(tail, 8 - tail.length);
  return out;
}

/** Colon-separated hex groups ("" is none); a dotted IPv4 is allowed last, counting as two groups. */
function parseGroups(text: string, mayEndWithIpv4: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (HEX_GROUP.test(part)) {
      groups.push(Number.parseInt(part, 16));
      continue;
    }
    if (!mayEndWithIpv4 || i !== parts.length - 1) return null;
    const v4 = parseIpv4(part);
    if (v4 === null) return null;
    groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
  }
  return groups;
}

/**
 * Formats a 4- or 16-byte address: dotted decimal, or IPv6 as RFC 5952 recommends (lowercase,
 * no leading zeros, the longest run of two or more zero groups shortened to "::", the first
 * such run on a tie, and IPv4-mapped addresses as ::ffff:a.b.c.d).
 */
export function formatAddr(addr: Uint8Array): string {
  if (addr.length === 4) return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  if (addr.length !== 16) throw new RangeError(`address must be 4 or 16 bytes, got ${addr.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((addr[i]! << 8) | addr[i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${addr[12]}.${addr[13]}.${addr[14]}.${addr[15]}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a lone zero group is never shortened
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
