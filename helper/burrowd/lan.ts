import { runIp } from '../routing/ip-command.js';

/**
 * The prefixes directly attached to this machine's other interfaces (its LAN), from the main table.
 * With "allow LAN access" they become throw routes in table 52, so they stay reachable while an
 * exit node carries everything else.
 */
export async function lanPrefixes(tunnelInterface: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['-4', '-6']) {
    const listing = await runIp([family, 'route', 'show', 'table', 'main', 'scope', 'link']).catch(() => '');
    for (const line of listing.split('\n')) {
      const [prefix] = line.trim().split(/\s+/);
      if (!prefix || line.includes(`dev ${tunnelInterface} `) || prefix.startsWith('fe80')) continue;
      if (prefix === 'default' || prefix.startsWith('multicast')) continue;
      out.push(prefix.includes('/') ? prefix : `${prefix}/${family === '-4' ? 32 : 128}`);
    }
  }
  return out;
}
