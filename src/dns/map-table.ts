/**
 * The resolver's table from a map: the names src/control/device-names.ts gives the map's nodes (the
 * same ones `burrow status` shows), the admin's split-DNS routes and name servers from the map's dns
 * section, and the resolvers the system had before Burrow, which only burrowd knows.
 */

import { deviceNames } from '../control/device-names.js';
import { DEFAULT_BASE_DOMAIN, nameserverAddress, QUAD_100 } from '../control/dns-settings.js';
import type { Netmap } from '../control/messages.js';
import { formatAddr, parseCidr } from '../packet/ip-text.js';
import type { DnsTable, Upstream } from './table.js';

/**
 * `system`: the servers the system resolved with before Burrow (from the resolv.conf or the link
 * settings burrowd replaced). The admin's name servers take every name not ours or routed when the
 * map says `override`; otherwise they stand in only for a system that had none.
 */
export function tableFromMap(map: Netmap, system: readonly Upstream[]): DnsTable {
  const dns = map.dns;
  const baseDomain = dns?.baseDomain ?? DEFAULT_BASE_DOMAIN;
  const nameservers = (dns?.nameservers ?? []).map(upstream);
  const devices = deviceNames(map, baseDomain).map((d) => ({
    fqdn: d.fqdn,
    shortNames: [d.short],
    ips: d.ips,
  }));
  // Each network's ULA /48, from its devices' addresses and our resolver's.
  const zones = new Set<string>();
  for (const ip of [...devices.flatMap((d) => d.ips), ...(dns ? [dns.resolver.ipv6] : [])]) {
    const { addr, family } = parseCidr(ip);
    if (family === 6 && (addr[0]! & 0xfe) === 0xfc) zones.add(`${formatAddr(ula48(addr))}/48`);
  }
  return {
    baseDomain,
    devices,
    routes: (dns?.routes ?? []).map((r) => ({ suffix: r.domain, servers: r.servers.map(upstream) })),
    fallback: system.length > 0 ? system : nameservers,
    overrideAll: dns?.override ? nameservers : [],
    reverseZones: [...zones],
    ownAddresses: dns ? [dns.resolver.ipv4, dns.resolver.ipv6] : [QUAD_100],
  };
}

/** A name server as the map writes it (`IP`, `IPv4:PORT`, `[IPv6]:PORT`) as an address and port. */
export function upstream(server: string): Upstream {
  const host = nameserverAddress(server);
  // What follows the address (and its brackets) is ":PORT", or nothing for port 53.
  const rest = server.slice(server.startsWith('[') ? host.length + 2 : host.length);
  return { host, port: rest === '' ? 53 : Number(rest.slice(1)) };
}

function ula48(addr: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set(addr.subarray(0, 6));
  return out;
}
