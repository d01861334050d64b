import {
  checkDnsSettings,
  type DnsSettings,
  DnsSettingsError,
  EMPTY_DNS_SETTINGS,
} from '../../../src/control/dns-settings.js';
import { StoreError } from '../errors.js';
import type { Sql } from '../sql.js';
import type { NetworkDns } from '../types.js';
import * as changes from './changes.js';
import * as networks from './networks.js';

interface Row {
  network_id: string;
  nameservers: string;
  routes: string;
  search_domains: string;
  override: number;
  updated_at: number;
}

/** A network's DNS settings; a network nobody set any for has none (and updatedAt null). */
export async function get(sql: Sql, networkId: string): Promise<NetworkDns> {
  await networks.get(sql, networkId);
  const row = await sql.get<Row>('SELECT * FROM network_dns WHERE network_id = ?', networkId);
  if (!row) return { networkId, ...EMPTY_DNS_SETTINGS, updatedAt: null };
  return {
    networkId,
    nameservers: JSON.parse(row.nameservers) as string[],
    routes: JSON.parse(row.routes) as DnsSettings['routes'],
    searchDomains: JSON.parse(row.search_domains) as string[],
    override: row.override === 1,
    updatedAt: row.updated_at,
  };
}

/**
 * Replaces the network's settings whole, in normal form, or refuses them (invalid, naming the
 * field) and changes nothing. A change reaches the change feed; setting what is there already
 * does not.
 */
export async function set(
  sql: Sql,
  networkId: string,
  settings: DnsSettings,
  now: number,
  baseDomain?: string,
): Promise<NetworkDns> {
  return sql.write(async () => {
    const network = await networks.get(sql, networkId);
    let checked: DnsSettings;
    try {
      checked = checkDnsSettings(settings, {
        ula: network.ula,
        ...(baseDomain !== undefined ? { baseDomain } : {}),
      });
    } catch (error) {
      if (error instanceof DnsSettingsError) throw new StoreError('invalid', error.message);
      throw error;
    }
    const before = await get(sql, networkId);
    const same =
      JSON.stringify([before.nameservers, before.routes, before.searchDomains, before.override]) ===
      JSON.stringify([checked.nameservers, checked.routes, checked.searchDomains, checked.override]);
    if (same && before.updatedAt !== null) return before;
    await sql.run(
      `INSERT INTO network_dns (network_id, nameservers, routes, search_domains, override, updated_at)
       VALUES (@network_id, @nameservers, @routes, @search_domains, @override, @updated_at)
       ON CONFLICT (network_id) DO UPDATE SET nameservers = excluded.nameservers, routes = excluded.routes,
         search_domains = excluded.search_domains, override = excluded.override, updated_at = excluded.updated_at`,
      {
        network_id: networkId,
        nameservers: JSON.stringify(checked.nameservers),
        routes: JSON.stringify(checked.routes),
        search_domains: JSON.stringify(checked.searchDomains),
        override: checked.override ? 1 : 0,
        updated_at: now,
      },
    );
    if (!same) await changes.record(sql, [networkId], 'dns-changed', null, now);
    return { networkId, ...checked, updatedAt: now };
  });
}
