import { type Family, type IpRunner, ipBatch, runIp } from './ip-command.js';

/**
 * Linux routing for a Burrow interface, laid out by default as tailscaled does it:
 * - the interface's addresses and MTU, and the link up;
 * - routes for peer prefixes in their own table (52), never in main;
 * - policy rules, for IPv4 and IPv6: packets carrying the bypass mark (burrowd's own encrypted UDP)
 *   look up main (5210), then default (5230), and are otherwise unreachable (5250), so they can never
 *   loop into the tunnel; everything else looks up table 52 (5270) and falls through to main when
 *   table 52 has no route.
 *
 * A standalone interface may ask for less, as wg-quick's `Table` does (RoutingLayout): routes in a
 * table of the user's and no rules at all, or neither. With Burrow's layout it also gets wg-quick's
 * full tunnel (`fullTunnel`): while table 52 holds a default route (0.0.0.0/0 or ::/0) to the
 * interface, two more rules of that family stand before 5270: 5260 looks up table 52 without its
 * default route (the peers' other prefixes), 5265 looks up main without its default route (wg-quick's
 * `suppress_prefixlength 0`), so the tunnel's default route takes only what main's default route
 * would have carried: the LAN and main's other routes are still reached directly, and peer prefixes
 * go where they went before the default route came. The mesh keeps its own way (exit nodes and
 * their LAN throw routes).
 *
 * Each step is one `ip -batch` per address family, the two run at once: starting `ip` costs more
 * than the change it makes (some 2 ms), and bringing a tunnel up takes some twenty changes.
 * Everything added is removed by `down`; `removeStale` removes what a killed instance left behind.
 */

export const ROUTE_TABLE = 52;
export const BYPASS_MARK = 0x80000;
export const BYPASS_MASK = 0xff0000;

const FAMILIES: readonly Family[] = ['-4', '-6'];

/** The mark whose packets Burrow's bypass rules (5210-5250) send past its table: burrowd's own UDP. */
export interface BypassMark {
  mark: number;
  mask: number;
}

export const BURROW_MARK: BypassMark = { mark: BYPASS_MARK, mask: BYPASS_MASK };

/**
 * Where peer routes go and which rules look them up. `table` null: no routes at all (wg-quick's
 * `Table = off`); `rules` null: none of Burrow's rules (an explicit `Table = N`: the user's own
 * rules decide who looks it up, as with wg-quick).
 */
export interface RoutingLayout {
  table: string | null;
  rules: BypassMark | null;
  /** With `rules`: rules 5260 and 5265 while table 52 holds a default route of their family. */
  fullTunnel?: boolean;
}

/** Burrow's own layout: table 52, looked up at 5270, and the bypass rules for `mark`. */
export function burrowLayout(mark: BypassMark = BURROW_MARK): RoutingLayout {
  return { table: String(ROUTE_TABLE), rules: mark };
}

const markText = ({ mark, mask }: BypassMark) => `0x${mark.toString(16)}/0x${(mask >>> 0).toString(16)}`;

/** The bypass rules for `mark`, in priority order, as `ip rule` arguments (without the family flag). */
const bypassRules = (mark: BypassMark): string[][] => [
  ['priority', '5210', 'fwmark', markText(mark), 'table', 'main'],
  ['priority', '5230', 'fwmark', markText(mark), 'table', 'default'],
  ['priority', '5250', 'fwmark', markText(mark), 'unreachable'],
];

const LOOKUP_RULE = ['priority', '5270', 'table', String(ROUTE_TABLE)];

/** A full tunnel's rules (see RoutingLayout.fullTunnel), in priority order. */
const FULL_TUNNEL_RULES = [
  ['priority', '5260', 'table', String(ROUTE_TABLE), 'suppress_prefixlength', '0'],
  ['priority', '5265', 'table', 'main', 'suppress_prefixlength', '0'],
];

const fullTunnelCommands = (verb: 'add' | 'del', families: Iterable<Family>): Command[] =>
  [...families].flatMap((f) =>
    FULL_TUNNEL_RULES.map((rule) => ({ family: f, args: ['rule', verb, ...rule] })),
  );

/** The families of which `entries` hold a default route to the interface. */
function defaultRouteFamilies(entries: Iterable<string>): Set<Family> {
  const out = new Set<Family>();
  for (const entry of entries) {
    if (entry === 'dev 0.0.0.0/0') out.add('-4');
    if (entry === 'dev ::/0') out.add('-6');
  }
  return out;
}

export interface InterfaceConfig {
  name: string;
  mtu: number;
  /** Interface addresses as CIDR text, e.g. "100.64.0.1/32", "fd7a::1/128". */
  addresses: string[];
}

const family = (cidr: string): Family => (cidr.includes(':') ? '-6' : '-4');

/** An ip command and the family it belongs to. */
interface Command {
  family: Family;
  args: string[];
}

/** A table-52 entry kept as "dev CIDR" or "throw CIDR": its kind and its prefix, as given. */
function parts(route: string): { kind: string; cidr: string } {
  const space = route.indexOf(' ');
  return { kind: route.slice(0, space), cidr: route.slice(space + 1) };
}

/** `ip route` arguments for a routing-table entry. */
function routeArgs(route: string, iface: string, table: string): string[] {
  const { kind, cidr } = parts(route);
  return kind === 'throw' ? ['throw', cidr, 'table', table] : [cidr, 'dev', iface, 'table', table];
}

/** Every rule of the layout, bypass rules first, for both families. */
const ruleCommands = (verb: 'add' | 'del', rules: BypassMark, lookup = true): Command[] =>
  FAMILIES.flatMap((f) =>
    [...bypassRules(rules), ...(lookup ? [LOOKUP_RULE] : [])].map((rule) => ({
      family: f,
      args: ['rule', verb, ...rule],
    })),
  );

/** A table-52 entry for each prefix: a route to the interface ("dev CIDR") or a throw route. */
function tableEntries(cidrs: Iterable<string>, throws: Iterable<string>): Set<string> {
  const entries = new Set([...cidrs].map((c) => `dev ${c}`));
  for (const c of throws) entries.add(`throw ${c}`);
  return entries;
}

/**
 * Runs the commands, in their order within each family, as one `ip -batch` per family, both at
 * once; rejects, once both have ended, with the first failure. `force`: see ipBatch.
 */
async function runByFamily(ip: IpRunner, commands: Command[], force = false): Promise<void> {
  const results = await Promise.allSettled(
    FAMILIES.map((f) =>
      ipBatch(
        ip,
        f,
        commands.filter((c) => c.family === f).map((c) => c.args),
        force,
      ),
    ),
  );
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}

/**
 * Removes the rules and table-52 routes left by an instance that did not exit cleanly (kill -9):
 * once, when burrowd starts, before it adds its own (with `mark`, the one its bypass rules match).
 * Rules are deleted by their whole shape (priority, mark, table), so unrelated rules, even at the
 * same priorities, are left alone;
 * whatever is not there is no error.
 */
export async function removeStaleRouting(
  ip: IpRunner = runIp,
  mark: BypassMark = BURROW_MARK,
): Promise<void> {
  const flush = FAMILIES.map((f) => ({ family: f, args: ['route', 'flush', 'table', String(ROUTE_TABLE)] }));
  const commands = [...ruleCommands('del', mark), ...fullTunnelCommands('del', FAMILIES), ...flush];
  await runByFamily(ip, commands, true).catch(() => undefined);
}

export class LinuxRouting {
  private routes = new Set<string>();
  private rulesInstalled = false;
  /** The families whose full-tunnel rules are in place (see RoutingLayout.fullTunnel). */
  private fullTunnel = new Set<Family>();
  /** The interface's index here, taken at `up`: a same-named interface made later is not ours. */
  private ifindex: number | undefined;
  /** The interface has left this namespace; see detach. */
  private detached = false;
  /** What `up` was given, for a `rename` that has to bring the interface up again. */
  private config: InterfaceConfig | undefined;

  constructor(
    private iface: string,
    private readonly ip: IpRunner = runIp,
    private readonly log: (message: string) => void = () => {},
    private layout: RoutingLayout = burrowLayout(),
  ) {}

  /**
   * Brings the interface up with its addresses, installs the policy rules and gives the table its
   * first entries (as setRoutes), all in the one batch per family, as far as the layout has rules
   * and a table. All or nothing.
   */
  async up(
    config: InterfaceConfig,
    cidrs: Iterable<string> = [],
    throws: Iterable<string> = [],
  ): Promise<void> {
    this.config = config;
    const link = ['link', 'set', 'dev', this.iface];
    const commands: Command[] = [];
    // Each family's batch sets the link up itself (the two run at once), before its routes: the
    // kernel takes no route to a link that is down.
    for (const f of FAMILIES) commands.push({ family: f, args: [...link, 'mtu', String(config.mtu)] });
    for (const address of config.addresses) {
      const args = ['address', 'add', address, 'dev', this.iface];
      // Duplicate address detection would hold a new v6 address back for seconds; the tunnel has no link layer.
      if (family(address) === '-6') args.push('nodad');
      commands.push({ family: family(address), args });
    }
    for (const f of FAMILIES) commands.push({ family: f, args: [...link, 'up'] });
    const { rules, table } = this.layout;
    if (rules) commands.push(...ruleCommands('add', rules));
    // Recorded before they are added, so that `down` takes back whatever part of them was.
    this.rulesInstalled = rules !== null;
    this.routes = table === null ? new Set() : tableEntries(cidrs, throws);
    // A full tunnel's rules before its default route, so that the LAN never meets that route alone.
    this.fullTunnel = this.fullTunnelFamilies(this.routes);
    commands.push(...fullTunnelCommands('add', this.fullTunnel));
    commands.push(...[...this.routes].map((route) => this.routeCommand('replace', route)));
    try {
      // The index is read beside the batch, so that it costs no time of its own.
      [this.ifindex] = await Promise.all([this.linkIndex(), runByFamily(this.ip, commands)]);
    } catch (error) {
      await this.down();
      throw error;
    }
  }

  /**
   * Adds table-52 entries for those of `cidrs` and `throws` it lacks, and keeps every other: the
   * half of a change that can fail, done first by a caller that must change all or nothing (a UAPI
   * set adds the routes its request names, then applies it, then lets setRoutes remove the rest).
   * On failure, what was added is taken back.
   */
  async addRoutes(cidrs: Iterable<string>, throws: Iterable<string> = []): Promise<void> {
    await this.addEntries(tableEntries(cidrs, throws));
  }

  /**
   * Makes table 52 hold exactly `cidrs` (routes to this interface) and `throws` (throw routes: the
   * lookup leaves table 52 and goes on to main, which is how LAN prefixes stay reachable while a
   * default route points at the tunnel). Applies the difference, so traffic to unchanged prefixes
   * is never interrupted. On failure, what was added is taken back.
   */
  async setRoutes(cidrs: Iterable<string>, throws: Iterable<string> = []): Promise<void> {
    const wanted = tableEntries(cidrs, throws);
    await this.addEntries(wanted);
    const gone = [...this.routes].filter((route) => !wanted.has(route));
    for (const route of gone) this.routes.delete(route);
    // A full tunnel's rules go after its default route, in the same batch.
    const still = this.fullTunnelFamilies(this.routes);
    const ended = [...this.fullTunnel].filter((f) => !still.has(f));
    for (const f of ended) this.fullTunnel.delete(f);
    await runByFamily(
      this.ip,
      [...gone.map((route) => this.routeCommand('del', route)), ...fullTunnelCommands('del', ended)],
      true,
    ).catch(() => undefined);
  }

  /**
   * Gives the interface its final name, once `up` is done: burrowd makes its TUN under a temporary
   * name, so that whoever waits for the interface finds it ready to carry traffic. Linux renames a
   * link that is up since 6.2; older kernels refuse (EBUSY), and there the interface is taken down,
   * renamed, and brought up again with the same addresses and routes (a moment in which a waiter
   * may find it not yet up).
   */
  async rename(name: string): Promise<void> {
    const old = this.iface;
    try {
      await this.ip(['link', 'set', 'dev', old, 'name', name]);
      this.iface = name;
      return;
    } catch (error) {
      if (!/busy/i.test((error as Error).message) || this.config === undefined) throw error;
    }
    const entries = [...this.routes].map(parts);
    await this.down();
    await this.ip(['address', 'flush', 'dev', old]);
    await this.ip(['link', 'set', 'dev', old, 'down']);
    await this.ip(['link', 'set', 'dev', old, 'name', name]);
    this.iface = name;
    await this.up(
      { ...this.config, name },
      entries.filter((e) => e.kind === 'dev').map((e) => e.cidr),
      entries.filter((e) => e.kind === 'throw').map((e) => e.cidr),
    );
  }

  /** Removes the rules and routes we added. Safe to call more than once, and after a partial `up`. */
  async down(): Promise<void> {
    const commands = [...this.routes].map((route) => this.routeCommand('del', route));
    commands.push(...fullTunnelCommands('del', this.fullTunnel));
    if (this.rulesInstalled && this.layout.rules) commands.push(...ruleCommands('del', this.layout.rules));
    this.routes.clear();
    this.fullTunnel.clear();
    this.rulesInstalled = false;
    await runByFamily(this.ip, commands, true).catch(() => undefined);
  }

  /**
   * Makes the bypass rules match `mark` (a `wg set fwmark` on burrowd's socket): the new rules are
   * added before the old ones go, so that the socket's packets never meet the tunnel's table. On
   * failure nothing changes. Without bypass rules in the layout there is nothing to do.
   */
  async setBypassMark(mark: BypassMark): Promise<void> {
    const old = this.layout.rules;
    if (old === null || (old.mark === mark.mark && old.mask === mark.mask)) return;
    if (this.rulesInstalled) {
      try {
        await runByFamily(this.ip, ruleCommands('add', mark, false));
      } catch (error) {
        await runByFamily(this.ip, ruleCommands('del', mark, false), true).catch(() => undefined);
        throw error;
      }
      await runByFamily(this.ip, ruleCommands('del', old, false), true).catch(() => undefined);
    }
    this.layout = { ...this.layout, rules: mark };
  }

  private async addEntries(wanted: Set<string>): Promise<void> {
    if (this.detached || this.layout.table === null) return;
    const added = [...wanted].filter((route) => !this.routes.has(route));
    if (added.length === 0) return;
    // A full tunnel's rules go in before its default route (see up).
    const starting = [...this.fullTunnelFamilies(added)].filter((f) => !this.fullTunnel.has(f));
    // Whether the interface is still ours is asked beside the batch, so that it costs no time.
    const [index, batch] = await Promise.allSettled([
      this.linkIndex(),
      runByFamily(this.ip, [
        ...fullTunnelCommands('add', starting),
        ...added.map((route) => this.routeCommand('replace', route)),
      ]),
    ]);
    const ours =
      index.status === 'fulfilled' &&
      index.value !== undefined &&
      (this.ifindex === undefined || index.value === this.ifindex);
    if (!ours || batch.status === 'rejected') {
      await this.deleteRoutes(added);
      await runByFamily(this.ip, fullTunnelCommands('del', starting), true).catch(() => undefined);
    }
    if (!ours) return this.detach();
    if (batch.status === 'rejected') throw batch.reason;
    for (const route of added) this.routes.add(route);
    for (const f of starting) this.fullTunnel.add(f);
  }

  /** The families whose full-tunnel rules `entries` call for, in a layout that has them. */
  private fullTunnelFamilies(entries: Iterable<string>): Set<Family> {
    const { fullTunnel, rules, table } = this.layout;
    return fullTunnel && rules && table === String(ROUTE_TABLE) ? defaultRouteFamilies(entries) : new Set();
  }

  /**
   * The interface has left this namespace: moved with `ip link set IFACE netns NS` (WireGuard's
   * container pattern: the UDP socket stays here, the interface serves the other namespace, whose
   * owner routes for it), or deleted. Its routes went with it; a route command naming it can only
   * fail from now on, or reach another interface given its name. So routes are no longer managed,
   * and the log says why; the rules stay ours and go at `down`.
   */
  private detach(): void {
    this.detached = true;
    this.routes.clear();
    this.log(
      `${this.iface} is no longer in this network namespace (moved to another network namespace, or deleted): ` +
        'burrowd no longer manages its routes',
    );
  }

  /** The interface's index in this namespace, or undefined if there is no interface of its name. */
  private async linkIndex(): Promise<number | undefined> {
    try {
      const line = await this.ip(['-o', 'link', 'show', 'dev', this.iface]);
      const index = Number(/^(\d+):/.exec(line)?.[1]);
      return Number.isInteger(index) ? index : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Table 52 is Burrow's: its entries are replaced. A table of the user's gets them added, as
   * wg-quick adds them, so that a route already there (the main table's default route, with
   * `Table = main`) is refused rather than taken over, and then deleted at `down`.
   */
  private routeCommand(verb: 'replace' | 'del', route: string): Command {
    const table = this.layout.table ?? String(ROUTE_TABLE);
    const used = verb === 'replace' && table !== String(ROUTE_TABLE) ? 'add' : verb;
    return {
      family: family(parts(route).cidr),
      args: ['route', used, ...routeArgs(route, this.iface, table)],
    };
  }

  private async deleteRoutes(routes: string[]): Promise<void> {
    const commands = routes.map((route) => this.routeCommand('del', route));
    await runByFamily(this.ip, commands, true).catch(() => undefined);
  }
}
