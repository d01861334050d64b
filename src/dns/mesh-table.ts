/**
 * What a mesh device's resolver knows, from its map: the names of the nodes it sees
 * (src/control/device-names.ts, so the resolver and `burrow status` agree), the network's DNS
 * settings (split-DNS routes, "use these servers for everything") and the resolvers the system
 * had before Burrow changed its DNS, for every other name.
 */
import { deviceNames } from '../control/device-names.js';
import { DEFAULT_BASE_DOMAIN, QUAD_100 } from '../control/dns-settings.js';
import type { Netmap } from '../control/messages.js';
import { formatAddr, parseCidr } from '../packet/ip-text.js';
import type { DnsTable, Upstream } from './table.js';

/** A name server as the map writes one (`IP`, `IPv4:PORT`, `[IPv6]:PORT`) as an upstream. */
export function upstreamOf(server: string): Upstream {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(server);
  if (bracketed) return { host: bracketed[1]!, port: Number(bracketed[2]) };
  const v4 = /^([0-9.]+):(\d+)$/.exec(server);
  if (v4) return { host: v4[1]!, port: Number(v4[2]) };
  return { host: server, port: 53 };
}

/** Where this device's resolver listens: 100.100.100.100 and, with a map that names it, its ULA address. */
export function resolverAddresses(map: Netmap | null): string[] {
  const resolver = map?.dns?.resolver;
  return resolver ? [resolver.ipv4, resolver.ipv6] : [QUAD_100];
}

/** The IPv6 /48s of the map's nodes and of the resolver: the reverse zones the resolver owns. */
function ulaZones(map: Netmap): string[] {
  const addresses = [...[map.self, ...map.peers].flatMap((n) => n.ips), ...resolverAddresses(map)];
  const zones = new Set<string>();
  for (const ip of addresses) {
    if (!ip.includes(':')) continue;
    const addr = parseCidr(ip).addr;
    // Only unique local addresses (fc00::/7): a global prefix is someone else's to answer for.
    if ((addr[0]! & 0xfe) !== 0xfc) continue;
    const prefix = new Uint8Array(16);
    prefix.set(addr.subarray(0, 6));
    zones.add(`${formatAddr(prefix)}/48`);
  }
  return [...zones].sort();
}

/** The resolver's table for `map`; `fallback`: the system's resolvers from before Burrow. */
export function meshDnsTable(map: Netmap, fallback: readonly Upstream[]): DnsTable {
  const dns = map.dns;
  return {
    baseDomain: dns?.baseDomain ?? DEFAULT_BASE_DOMAIN,
    devices: deviceNames(map).map((n) => ({ fqdn: n.fqdn, shortNames: [n.short], ips: n.ips })),
    routes: (dns?.routes ?? []).map((r) => ({ suffix: r.domain, servers: r.servers.map(upstreamOf) })),
    fallback,
    overrideAll: dns?.override ? dns.nameservers.map(upstreamOf) : [],
    reverseZones: ulaZones(map),
    ownAddresses: resolverAddresses(map),
  };
}
