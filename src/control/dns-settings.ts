import { formatAddr, parseCidr } from '../packet/ip-text.js';

/**
 * DNS settings as the server keeps them per network and sends them in each map: checks and normal
 * forms, shared by the server (store, config file, admin commands) and the map's schema, so that
 * what an admin may set and what a device accepts are the same thing.
 */

/** Where device names live unless the server's config says otherwise: `HOST.NETWORK.burrow.internal`. */
export const DEFAULT_BASE_DOMAIN = 'burrow.internal';

/** Every device's own resolver answers here, inside the tunnel (reserved in the address pool). */
export const QUAD_100 = '100.100.100.100';

/**
 * The interface id of the resolver's IPv6 address in each network's ULA /48: `PREFIX::53`. Device
 * addresses there are PREFIX::<their IPv4 address as 32 bits>, so ::53 would be 0.0.0.83's, which no
 * pool hands out (the server reserves it all the same). 53 is DNS's port, easy to recognise in a
 * capture or a resolv.conf, as Tailscale's fd7a:115c:a1e0::53.
 */
const RESOLVER_INTERFACE_ID = 0x53;

/** Limits on what an admin may set, so a map stays small and a resolv.conf stays usable. */
export const DNS_LIMITS = {
  nameservers: 8,
  searchDomains: 8,
  routes: 256,
  serversPerRoute: 8,
} as const;

/** A network's DNS settings, as an admin sets them. */
export interface DnsSettings {
  /** Extra name servers (`IP`, `IP:PORT` or `[IPv6]:PORT`; port 53 is left out). */
  nameservers: string[];
  /** Split DNS: names under `domain` are asked of `servers`, sorted by domain. */
  routes: { domain: string; servers: string[] }[];
  /** Added after the network's own subdomain, which always comes first. */
  searchDomains: string[];
  /** Use `nameservers` for every name, in place of the device's own resolvers. */
  override: boolean;
}

export const EMPTY_DNS_SETTINGS: DnsSettings = {
  nameservers: [],
  routes: [],
  searchDomains: [],
  override: false,
};

/** A setting that is not valid; `message` starts with the field it concerns (`routes[0].domain: ...`). */
export class DnsSettingsError extends Error {}

/**
 * A DNS name in normal form: lower case, no final dot; labels of letters, digits and inner
 * hyphens, at most 63 characters each and 253 in all; the last label not all digits (so an IP
 * address given where a domain belongs is refused, not taken as a name).
 */
export function canonicalDomain(text: string): string {
  const name = text.toLowerCase().replace(/\.$/, '');
  const labels = name.split('.');
  if (
    name.length === 0 ||
    name.length > 253 ||
    !labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l)) ||
    /^\d+$/.test(labels.at(-1)!)
  )
    throw new DnsSettingsError(`${JSON.stringify(text)} is not a DNS name (such as corp.example)`);
  return name;
}

/** Whether `name` is `domain` or a name under it (both in normal form). */
export function inDomain(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

/**
 * A name server in normal form: `IP` (port 53), `IPv4:PORT` or `[IPv6]:PORT`, the address as
 * RFC 5952 writes it. Refuses addresses nothing answers at (unspecified, broadcast, multicast).
 */
export function canonicalNameserver(text: string): string {
  const bad = (why: string) => new DnsSettingsError(`${JSON.stringify(text)} ${why}`);
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([0-9.]+):(\d{1,5})$/.exec(text);
  const host = m ? m[1]! : text;
  const port = m ? Number(m[2]) : 53;
  let addr: Uint8Array;
  try {
    const parsed = parseCidr(host);
    if (host.includes('/')) throw new Error();
    addr = parsed.addr;
  } catch {
    throw bad('is not a name server (IP, IP:PORT or [IPv6]:PORT)');
  }
  if (m && host.includes(':') !== text.startsWith('['))
    throw bad('is not a name server (IP, IP:PORT or [IPv6]:PORT)');
  if (port < 1 || port > 65535) throw bad('has no valid port (1-65535)');
  if (addr.every((b) => b === 0)) throw bad('is the unspecified address');
  if (addr.length === 4 ? addr[0]! >= 224 : addr[0] === 0xff)
    throw bad('is a multicast or broadcast address');
  const ip = formatAddr(addr);
  if (port === 53) return ip;
  return addr.length === 4 ? `${ip}:${port}` : `[${ip}]:${port}`;
}

/** The address part of a name server in normal form. */
export function nameserverAddress(server: string): string {
  if (server.startsWith('[')) return server.slice(1, server.indexOf(']'));
  return server.includes('.') ? server.replace(/:\d+$/, '') : server;
}

/** The resolver's IPv6 address in a network whose ULA is `ula` (`fdXX:XXXX:XXXX::/48`). */
export function resolverIpv6(ula: string): string {
  const { addr, cidr, family } = parseCidr(ula);
  if (family !== 6 || cidr !== 48) throw new Error(`not a /48 IPv6 prefix: ${ula}`);
  const out = new Uint8Array(16);
  out.set(addr.subarray(0, 6));
  out[14] = RESOLVER_INTERFACE_ID >>> 8;
  out[15] = RESOLVER_INTERFACE_ID & 0xff;
  return formatAddr(out);
}

/**
 * A network's name as one DNS label (`HOST.<label>.<base domain>`): lower case, runs of anything
 * but letters, digits and '-' as one '-', at most 63 characters. Network names may hold any
 * printable character ("alice@example.com" becomes "alice-example-com").
 */
export function networkLabel(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || 'network';
}

/** What a network's settings are checked against. */
export interface DnsContext {
  /** The network's ULA /48: its resolver address may not be an upstream (absent: not known yet). */
  ula?: string;
  /** When known: routes may not take names under it (they are Burrow's own). */
  baseDomain?: string;
}

/**
 * The settings in normal form (addresses and domains as above, duplicates dropped, routes sorted
 * by domain), or a DnsSettingsError naming the first bad field. Refused: the device's own resolver
 * as an upstream (it would ask itself), a route for a name under the base domain, a domain routed twice, a
 * route without servers, and `override` without name servers.
 */
export function checkDnsSettings(input: DnsSettings, context: DnsContext): DnsSettings {
  const own = new Set([QUAD_100, ...(context.ula !== undefined ? [resolverIpv6(context.ula)] : [])]);
  const at = <T>(field: string, fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof DnsSettingsError) throw new DnsSettingsError(`${field}: ${error.message}`);
      throw error;
    }
  };
  const servers = (field: string, list: readonly string[], max: number) => {
    if (list.length > max) throw new DnsSettingsError(`${field}: at most ${max} name servers`);
    const out = list.map((s, i) =>
      at(`${field}[${i}]`, () => {
        const server = canonicalNameserver(s);
        if (own.has(nameserverAddress(server)))
          throw new DnsSettingsError(
            `${nameserverAddress(server)} is the device's own Burrow resolver, which cannot forward to itself`,
          );
        return server;
      }),
    );
    return [...new Set(out)];
  };
  const nameservers = servers('nameservers', input.nameservers, DNS_LIMITS.nameservers);
  if (input.searchDomains.length > DNS_LIMITS.searchDomains)
    throw new DnsSettingsError(`searchDomains: at most ${DNS_LIMITS.searchDomains} search domains`);
  const searchDomains = [
    ...new Set(input.searchDomains.map((d, i) => at(`searchDomains[${i}]`, () => canonicalDomain(d)))),
  ];
  if (input.routes.length > DNS_LIMITS.routes)
    throw new DnsSettingsError(`routes: at most ${DNS_LIMITS.routes} routes`);
  const seen = new Set<string>();
  const base = context.baseDomain;
  const routes = input.routes.map((r, i) => {
    const domain = at(`routes[${i}].domain`, () => canonicalDomain(r.domain));
    if (seen.has(domain)) throw new DnsSettingsError(`routes[${i}].domain: ${domain} is routed twice`);
    seen.add(domain);
    // A route for a parent (`internal`) is fine: the longer match, the base domain, still wins.
    if (base !== undefined && inDomain(domain, base))
      throw new DnsSettingsError(
        `routes[${i}].domain: ${domain} is under the base domain ${base}, whose names Burrow answers itself`,
      );
    if (r.servers.length === 0)
      throw new DnsSettingsError(`routes[${i}].servers: give at least one name server`);
    return { domain, servers: servers(`routes[${i}].servers`, r.servers, DNS_LIMITS.serversPerRoute) };
  });
  routes.sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  if (input.override && nameservers.length === 0)
    throw new DnsSettingsError('override: needs at least one name server to use for every name');
  return { nameservers, routes, searchDomains, override: input.override };
}
