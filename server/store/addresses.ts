import { randomBytes } from 'node:crypto';

/**
 * Address arithmetic for device addresses: the server-wide IPv4 pool with its reserved addresses,
 * and each network's RFC 4193 prefix. IPv4 addresses are handled as unsigned 32-bit integers, which
 * is also how the database stores and indexes them.
 */

/** CGNAT space, as Tailscale and Headscale use: rarely routed on real LANs. */
export const DEFAULT_IPV4_POOL = '100.64.0.0/10';

/** First and last address of the pool, inclusive (its network and broadcast addresses). */
export interface Ipv4Pool {
  first: number;
  last: number;
}

/**
 * Addresses never handed to a device, inside the default pool: quad-100 (100.100.100.100, where a
 * device's own DNS resolver answers) with the rest of its /24 kept for more in-tunnel services, and
 * 100.115.92.0/23, which ChromeOS uses for its Android and Linux VMs.
 */
const RESERVED_BLOCKS: readonly Ipv4Pool[] = [blockOf('100.100.100.0/24'), blockOf('100.115.92.0/23')];

export function parseIpv4(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  const octets = m ? m.slice(1).map(Number) : [];
  if (octets.length !== 4 || octets.some((o) => o > 255)) throw new Error(`not an IPv4 address: ${text}`);
  return octets.reduce((n, o) => n * 256 + o, 0);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export function parseIpv4Pool(cidr: string): Ipv4Pool {
  const pool = blockOf(cidr);
  if (pool.last - pool.first < 3) throw new Error(`IPv4 pool ${cidr} is too small`);
  return pool;
}

function blockOf(cidr: string): Ipv4Pool {
  const [addr = '', lenText = ''] = cidr.split('/');
  const len = /^\d{1,2}$/.test(lenText) ? Number(lenText) : -1;
  if (len < 0 || len > 32) throw new Error(`not an IPv4 prefix: ${cidr}`);
  const size = 2 ** (32 - len);
  const base = parseIpv4(addr);
  if (base % size !== 0) throw new Error(`host bits set in ${cidr}`);
  return { first: base, last: base + size - 1 };
}

/**
 * The IPv4 address whose IPv6 twin (deviceIpv6) is the resolver's address in every network,
 * PREFIX::53 (src/control/dns-settings.ts): 0.0.0.83, in no sensible pool, but a pool is the
 * admin's choice and the resolver's address must never be a device's.
 */
const RESOLVER_IPV6_TWIN = 0x53;

/**
 * Also reserved: the pool's own network and broadcast addresses, and every x.y.z.0 and x.y.z.255,
 * which some firewalls and older stacks treat as broadcast addresses even on a /32 interface.
 */
export function isReserved(pool: Ipv4Pool, addr: number): boolean {
  const low = addr & 0xff;
  return (
    addr === RESOLVER_IPV6_TWIN ||
    addr === pool.first ||
    addr === pool.last ||
    low === 0 ||
    low === 255 ||
    RESERVED_BLOCKS.some((b) => addr >= b.first && addr <= b.last)
  );
}

/** A fresh RFC 4193 /48: fd00::/8 plus a 40-bit random Global ID (section 3.2). */
export function randomUla(): string {
  const id = randomBytes(5);
  const groups = [0xfd00 | id[0]!, (id[1]! << 8) | id[2]!, (id[3]! << 8) | id[4]!, 0, 0, 0, 0, 0];
  return `${formatIpv6(groups)}/48`;
}

/**
 * A device's IPv6 address: its network's /48, subnet 0, and its IPv4 address as the last 32 bits.
 * IPv4 addresses are unique server-wide, so these are unique without a second allocator, and an
 * operator can read one address off the other.
 */
export function deviceIpv6(ula: string, ipv4: number): string {
  const groups = parseIpv6(ula.replace(/\/48$/, ''));
  groups[6] = ipv4 >>> 16;
  groups[7] = ipv4 & 0xffff;
  return formatIpv6(groups);
}

function parseIpv6(text: string): number[] {
  const [head = '', tail] = text.split('::');
  const parts = (s: string | undefined) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = parts(head);
  const right = parts(tail);
  const zeros = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...new Array<number>(zeros).fill(0), ...right];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) {
    throw new Error(`not an IPv6 address: ${text}`);
  }
  return groups;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (2 or more) of zero groups as `::`. */
function formatIpv6(groups: number[]): string {
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}
