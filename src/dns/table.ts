/**
 * What this device's resolver knows, as burrowd hands it over (from the map and the system's old
 * resolver configuration), and the index built from it once per change, so that answering a query
 * is a lookup by lowercase name and never a scan or a regular expression.
 */

import { formatAddr, parseCidr } from '../packet/ip-text.js';
import { containsAddress, type Prefix, parsePrefix } from '../policy/prefix.js';
import { configName, isAtOrBelow } from './names.js';
import { reverseName } from './reverse-names.js';

/** A DNS server to forward to: an IP address (never a name: resolving it would need us) and port. */
export interface Upstream {
  host: string;
  port: number;
}

export interface DeviceRecord {
  /** Its full name, HOST.NETWORK.<base domain>; the name its addresses' PTR records give. */
  fqdn: string;
  /** Other names it answers to: the bare host name, say. */
  shortNames: readonly string[];
  /** Its mesh addresses, as text. */
  ips: readonly string[];
}

/** Names at or below `suffix` go to `servers` (split DNS). */
export interface SplitRoute {
  suffix: string;
  servers: readonly Upstream[];
}

export interface DnsTable {
  /** The zone device names live in ("burrow.internal"); names below it that we lack are NXDOMAIN. */
  baseDomain: string;
  /** The devices this device may see: its own network's, and those shared with it. */
  devices: readonly DeviceRecord[];
  routes: readonly SplitRoute[];
  /** The resolvers the system had before us: every name no route or device claims goes there. */
  fallback: readonly Upstream[];
  /** When not empty, these servers take what would go to `fallback` ("use these for everything"). */
  overrideAll: readonly Upstream[];
  /**
   * IPv6 prefixes (the networks' ULA /48s) whose reverse names are ours to answer, NXDOMAIN for an
   * address no device has. 100.64.0.0/10 always is. Each prefix length must be a multiple of 4.
   */
  reverseZones: readonly string[];
  /** Seconds answers (and, as the SOA minimum, negative answers) may be cached. */
  ttl?: number;
  /**
   * The resolver's own listening addresses: a server among the upstreams with one of them (the
   * system's old configuration already pointing at us) is left out, or queries would go round.
   */
  ownAddresses?: readonly string[];
}

/**
 * One second: a stub resolver that caches (systemd-resolved) sees a rename or a new device within
 * a second, as issue 17 asks; the queries this costs go to a resolver on the same machine.
 */
export const DEFAULT_TTL = 1;

/** A name's addresses (none for a name that only has names below it, RFC 8020). */
export interface NameEntry {
  v4: Uint8Array[];
  v6: Uint8Array[];
  /** The apex of the zone it is in, for the SOA of negative answers; null outside the base domain. */
  zone: string | null;
}

/** A reverse zone: addresses in `prefix`, whose reverse names we answer at or below `apexBits`. */
export interface ReverseZone {
  prefix: Prefix;
  apexBits: number;
}

export interface NameIndex {
  base: string;
  ttl: number;
  /** The SOA serial: grows with every table, so caches can tell versions apart. */
  serial: number;
  names: Map<string, NameEntry>;
  /** Reverse name key to the fqdn it points to. */
  ptr: Map<string, string>;
  reverseZones: ReverseZone[];
  /** Longest suffix first, so the first match is the most specific. */
  routes: { suffix: string; servers: readonly Upstream[] }[];
  /** Where names go that nothing else claims. */
  defaults: readonly Upstream[];
}

/** The carrier-grade NAT range mesh addresses come from: its reverse zones are the /16s under 100. */
const MESH_V4: ReverseZone = { prefix: parsePrefix('100.64.0.0/10'), apexBits: 16 };

/**
 * Builds the index. Entries that are not valid (a bad name, address or server, a name taken
 * twice) are left out and described in `problems`, so one bad entry in a map costs only itself.
 */
export function indexTable(table: DnsTable, serial = 1): { index: NameIndex; problems: string[] } {
  const problems: string[] = [];
  const base = configName(table.baseDomain) ?? '';
  if (base === '') problems.push(`base domain ${JSON.stringify(table.baseDomain)} is not a DNS name`);
  const names = new Map<string, NameEntry>();
  const ptr = new Map<string, string>();
  const inBase = (key: string) => base !== '' && isAtOrBelow(key, base);
  // Names that exist only because names below them do: a device may still take one.
  const empty = new Set<string>();
  const addEmpty = (key: string) => {
    if (names.has(key)) return;
    names.set(key, { v4: [], v6: [], zone: base });
    empty.add(key);
  };
  if (base !== '') addEmpty(base);

  for (const device of table.devices) {
    const fqdn = configName(device.fqdn);
    if (fqdn === null) {
      problems.push(`device name ${JSON.stringify(device.fqdn)} is not a DNS name`);
      continue;
    }
    const entry: NameEntry = { v4: [], v6: [], zone: inBase(fqdn) ? base : null };
    for (const ip of device.ips) {
      const addr = address(ip);
      if (addr === null) {
        problems.push(`${fqdn}: ${JSON.stringify(ip)} is not an IP address`);
        continue;
      }
      (addr.length === 4 ? entry.v4 : entry.v6).push(addr);
    }
    const claim = (key: string, entryFor: NameEntry) => {
      if (!names.has(key) || empty.delete(key)) {
        names.set(key, entryFor);
        return true;
      }
      problems.push(`${JSON.stringify(key)} names two devices; the first keeps it`);
      return false;
    };
    if (!claim(fqdn, entry)) continue;
    for (const addr of [...entry.v4, ...entry.v6]) {
      const reverse = reverseName(addr);
      if (!ptr.has(reverse)) ptr.set(reverse, fqdn);
    }
    // The names between it and the base domain exist, without addresses (so NODATA, not NXDOMAIN).
    // (Host names are plain labels; one with an escaped dot is left without them.)
    if (entry.zone !== null && !fqdn.includes('\\')) {
      const last = fqdn.length - base.length - 1;
      for (let at = fqdn.indexOf('.'); at !== -1 && at < last; at = fqdn.indexOf('.', at + 1)) {
        addEmpty(fqdn.slice(at + 1));
      }
    }
    for (const short of device.shortNames) {
      const key = configName(short);
      if (key === null) problems.push(`${fqdn}: ${JSON.stringify(short)} is not a DNS name`);
      else if (key !== fqdn) claim(key, { ...entry, zone: inBase(key) ? base : null });
    }
  }

  const reverseZones = [MESH_V4];
  for (const text of table.reverseZones) {
    let prefix: Prefix;
    try {
      prefix = parsePrefix(text);
    } catch (error) {
      problems.push(`reverse zone: ${(error as Error).message}`);
      continue;
    }
    if (prefix.bits % (prefix.family === 4 ? 8 : 4) !== 0)
      problems.push(`reverse zone ${text}: not whole labels`);
    else reverseZones.push({ prefix, apexBits: prefix.bits });
  }

  const own = new Set((table.ownAddresses ?? []).map((a) => canonical(a)));
  const routes: NameIndex['routes'] = [];
  for (const route of table.routes) {
    const suffix = configName(route.suffix);
    if (suffix === null) problems.push(`split DNS route ${JSON.stringify(route.suffix)} is not a DNS name`);
    else routes.push({ suffix, servers: validUpstreams(route.servers, own, problems) });
  }
  routes.sort((a, b) => b.suffix.length - a.suffix.length);
  const upstreams = (list: readonly Upstream[]) => validUpstreams(list, own, problems);
  const override = upstreams(table.overrideAll);
  const defaults = override.length > 0 ? override : upstreams(table.fallback);
  return {
    index: { base, ttl: table.ttl ?? DEFAULT_TTL, serial, names, ptr, reverseZones, routes, defaults },
    problems,
  };
}

/** The servers a name outside our zones goes to: the longest matching route's, else the defaults. */
export function upstreamsFor(index: NameIndex, key: string): readonly Upstream[] {
  for (const route of index.routes) if (isAtOrBelow(key, route.suffix)) return route.servers;
  return index.defaults;
}

/** The reverse zone the address bits fall in, at or below its apex; null if none. */
export function reverseZoneOf(index: NameIndex, addr: Uint8Array, bits: number): ReverseZone | null {
  for (const zone of index.reverseZones) {
    if (bits >= zone.apexBits && containsAddress(zone.prefix, addr)) return zone;
  }
  return null;
}

function address(text: string): Uint8Array | null {
  try {
    const parsed = parseCidr(text);
    return parsed.cidr === parsed.addr.length * 8 && !text.includes('/') ? parsed.addr : null;
  } catch {
    return null;
  }
}

/** An address in the form the driver reports a reply's source in (RFC 5952), or null. */
function canonical(text: string): string | null {
  const addr = address(text);
  return addr === null ? null : formatAddr(addr);
}

/** The servers that are an address and a port and not ourselves, their addresses canonical. */
function validUpstreams(
  list: readonly Upstream[],
  own: ReadonlySet<string | null>,
  problems: string[],
): Upstream[] {
  const out: Upstream[] = [];
  for (const u of list) {
    const host = canonical(u.host);
    if (host === null || !Number.isInteger(u.port) || u.port < 1 || u.port > 65535) {
      problems.push(`DNS server ${JSON.stringify(u)} is not an IP address and port`);
    } else if (own.has(host)) {
      problems.push(`DNS server ${host} is this resolver; left out`);
    } else {
      out.push({ host, port: u.port });
    }
  }
  return out;
}
