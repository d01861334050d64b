import { type DnsSettings, networkLabel, QUAD_100, resolverIpv6 } from '../../src/control/dns-settings.js';
import type { DnsConfig } from '../../src/control/messages.js';
import type { Network } from '../store/types.js';

/**
 * The map's DNS section for the devices of `network`: the base domain, where each device's own
 * resolver answers, and the admin's settings, with the network's own subdomain as the first search
 * domain (so `HOST` also resolves by search where the system's resolver does the searching).
 */
export function dnsSection(network: Network, settings: DnsSettings, baseDomain: string): DnsConfig {
  const own = `${networkLabel(network.name)}.${baseDomain}`;
  return {
    baseDomain,
    resolver: { ipv4: QUAD_100, ipv6: resolverIpv6(network.ula) },
    nameservers: settings.nameservers,
    routes: settings.routes,
    searchDomains: [own, ...settings.searchDomains.filter((d) => d !== own)],
    override: settings.override,
  };
}
