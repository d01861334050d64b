import { type IpRunner, runIp } from './ip-command.js';

/**
 * Linux routing for a Burrow interface, laid out as tailscaled does it:
 * - the interface's addresses and MTU, and the link up;
 * - routes for peer prefixes in their own table (52), never in main;
 * - policy rules, for IPv4 and IPv6: packets carrying the bypass mark (burrowd's own encrypted UDP)
 *   look up main (5210), then default (5230), and are otherwise unreachable (5250), so they can never
 *   loop into the tunnel; everything else looks up table 52 (5270) and falls through to main when
 *   table 52 has no route.
 *
 * Everything added is removed by `down`; `removeStale` removes what a killed instance left behind.
 */

export const ROUTE_TABLE = 52;
export const BYPASS_MARK = 0x80000;
export const BYPASS_MASK = 0xff0000;

const FAMILIES = ['-4', '-6'] as const;
const MARK = `0x${BYPASS_MARK.toString(16)}/0x${BYPASS_MASK.toString(16)}`;

/** The rules, in priority order, as `ip rule add` arguments (without the family flag). */
const RULES: readonly string[][] = [
  ['priority', '5210', 'fwmark', MARK, 'table', 'main'],
  ['priority', '5230', 'fwmark', MARK, 'table', 'default'],
  ['priority', '5250', 'fwmark', MARK, 'unreachable'],
  ['priority', '5270', 'table', String(ROUTE_TABLE)],
];
const RULE_PRIORITIES = new Set(['5210', '5230', '5250', '5270']);

export interface InterfaceConfig {
  name: string;
  mtu: number;
  /** Interface addresses as CIDR text, e.g. "100.64.0.1/32", "fd7a::1/128". */
  addresses: string[];
}

const family = (cidr: string) => (cidr.includes(':') ? '-6' : '-4');

/** `ip route` arguments for a table-52 entry kept as "dev CIDR" or "throw CIDR". */
function routeArgs(route: string, iface: string): string[] {
  const [kind, cidr] = route.split(' ') as [string, string];
  const table = ['table', String(ROUTE_TABLE)];
  return kind === 'throw' ? ['throw', cidr, ...table] : [cidr, 'dev', iface, ...table];
}

export class LinuxRouting {
  private routes = new Set<string>();
  private rulesInstalled = false;

  constructor(
    private readonly iface: string,
    private readonly ip: IpRunner = runIp,
  ) {}

  /**
   * Removes rules and table-52 routes left by an instance that did not exit cleanly (kill -9).
   * Our rules are recognised by priority and shape, so unrelated rules are left alone.
   */
  async removeStale(): Promise<void> {
    for (const fam of FAMILIES) {
      const listing = await this.ip([fam, 'rule', 'show']);
      for (const line of listing.split('\n')) {
        const priority = line.split(':')[0]?.trim() ?? '';
        if (!RULE_PRIORITIES.has(priority)) continue;
        if (!(line.includes(`lookup ${ROUTE_TABLE}`) || line.includes('fwmark 0x80000/0xff0000'))) continue;
        await this.ip([fam, 'rule', 'del', 'priority', priority]).catch(() => undefined);
      }
      await this.ip([fam, 'route', 'flush', 'table', String(ROUTE_TABLE)]).catch(() => undefined);
    }
  }

  /** Brings the interface up with its addresses, then installs the policy rules. All or nothing. */
  async up(config: InterfaceConfig): Promise<void> {
    try {
      await this.ip(['link', 'set', 'dev', this.iface, 'mtu', String(config.mtu)]);
      for (const address of config.addresses) {
        const args = [family(address), 'address', 'add', address, 'dev', this.iface];
        // Duplicate address detection would hold a new v6 address back for seconds; the tunnel has no link layer.
        if (family(address) === '-6') args.push('nodad');
        await this.ip(args);
      }
      await this.ip(['link', 'set', 'dev', this.iface, 'up']);
      await this.installRules();
    } catch (error) {
      await this.down();
      throw error;
    }
  }

  private async installRules(): Promise<void> {
    this.rulesInstalled = true;
    for (const fam of FAMILIES) {
      for (const rule of RULES) await this.ip([fam, 'rule', 'add', ...rule]);
    }
  }

  /**
   * Makes table 52 hold exactly `cidrs` (routes to this interface) and `throws` (throw routes: the
   * lookup leaves table 52 and goes on to main, which is how LAN prefixes stay reachable while a
   * default route points at the tunnel). Applies the difference, so traffic to unchanged prefixes
   * is never interrupted. On failure, what was added is taken back.
   */
  async setRoutes(cidrs: Iterable<string>, throws: Iterable<string> = []): Promise<void> {
    const wanted = new Set([...cidrs].map((c) => `dev ${c}`));
    for (const c of throws) wanted.add(`throw ${c}`);
    const added: string[] = [];
    try {
      for (const route of wanted) {
        if (this.routes.has(route)) continue;
        await this.ip([family(route), 'route', 'replace', ...routeArgs(route, this.iface)]);
        added.push(route);
      }
    } catch (error) {
      for (const route of added) await this.deleteRoute(route);
      throw error;
    }
    for (const route of added) this.routes.add(route);
    for (const route of [...this.routes]) {
      if (wanted.has(route)) continue;
      await this.deleteRoute(route);
      this.routes.delete(route);
    }
  }

  private async deleteRoute(route: string): Promise<void> {
    await this.ip([family(route), 'route', 'del', ...routeArgs(route, this.iface)]).catch(() => undefined);
  }

  /** Removes the rules and routes we added. Safe to call more than once, and after a partial `up`. */
  async down(): Promise<void> {
    for (const cidr of this.routes) await this.deleteRoute(cidr);
    this.routes.clear();
    if (this.rulesInstalled) {
      for (const fam of FAMILIES) {
        for (const rule of RULES) await this.ip([fam, 'rule', 'del', ...rule]).catch(() => undefined);
      }
      this.rulesInstalled = false;
    }
  }
}
