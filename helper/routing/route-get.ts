import { formatAddr, parseCidr } from '../../src/packet/ip-text.js';
import { type NativeAddon, type NativeRoute, type NativeRule, native } from '../native/index.js';
import { matchRule, type RuleFlow, ruleText, tableName } from './rule-match.js';

/**
 * What the kernel does with one packet this device sends: `ip route get` through netlink
 * (helper/native/route-get.c), plus the policy rule that sent it to the table that answered
 * (rule-match.ts). Runs in the calling process's network namespace. route-stage.ts reads the
 * result as the trace's stage 2.
 */

/** The packet to look up. Ports count only with a protocol. */
export interface RouteQuery {
  dst: string;
  src?: string;
  mark?: number;
  /** The sending user; without it the kernel takes this process's. */
  uid?: number;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6). */
  ipProto?: number;
  sport?: number;
  dport?: number;
}

/** RTN_* names, as ip prints them. */
const ROUTE_TYPES = [
  'unspec',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
  'xresolve',
] as const;

export type RouteType = (typeof ROUTE_TYPES)[number] | `type ${number}`;

/** The route the kernel chose. */
export interface KernelRoute {
  type: RouteType;
  table: number;
  /** "main", "local", "52". */
  tableName: string;
  /** The output interface, by name (when it still exists) and index. */
  dev?: string;
  ifindex?: number;
  gateway?: string;
  /** The source address the packet would carry. */
  prefsrc?: string;
  metric?: number;
  /** The table entry that matched ("100.64.0.0/10", "0.0.0.0/0"), from a second, fib-match lookup. */
  prefix?: string;
}

/** The rule that sent the packet to its table. */
export interface MatchedRule {
  priority: number;
  /** As `ip rule show` prints it: "5270:\tfrom all lookup 52". */
  text: string;
  /** The table it looks up; undefined for a rule that refuses (unreachable, prohibit, blackhole). */
  table?: number;
}

export interface RouteLookup {
  query: Required<Pick<RouteQuery, 'dst' | 'mark' | 'ipProto' | 'sport' | 'dport'>> & RouteQuery;
  family: 4 | 6;
  /** The route, when the kernel has one. */
  route?: KernelRoute;
  /** The kernel's refusal when it has none: ENETUNREACH (no route), EHOSTUNREACH (unreachable), EACCES (prohibit), EINVAL (blackhole). */
  error?: string;
  /** The rule that decided it, when it can be named (see rule-match.ts). */
  rule?: MatchedRule;
}

const typeName = (type: number): RouteType => ROUTE_TYPES[type] ?? `type ${type}`;

function facts(route: NativeRoute, fib: NativeRoute | undefined): KernelRoute {
  const out: KernelRoute = {
    type: typeName(route.type),
    table: route.table,
    tableName: tableName(route.table),
  };
  if (route.oifName !== undefined) out.dev = route.oifName;
  if (route.oif !== undefined) out.ifindex = route.oif;
  if (route.gateway !== undefined) out.gateway = route.gateway;
  if (route.prefsrc !== undefined) out.prefsrc = route.prefsrc;
  if (route.metric !== undefined) out.metric = route.metric;
  // The fib-match answer is the table's entry: its prefix (no RTA_DST at all for a default route).
  if (fib !== undefined && fib.table === route.table) {
    const zero = route.family === 4 ? '0.0.0.0' : '::';
    out.prefix = `${fib.dst ?? zero}/${fib.dstLen}`;
  }
  return out;
}

const matched = (rule: NativeRule): MatchedRule => ({
  priority: rule.priority,
  text: ruleText(rule),
  ...(rule.action === 1 ? { table: rule.table } : {}),
});

/**
 * Looks the packet up as `ip route get` does, then asks for the table entry it matched and for the
 * rule list, to name the prefix and the rule. Throws on bad input and when the lookup itself fails
 * (no addon, a malformed answer); the kernel's refusals are results.
 */
export function routeGet(query: RouteQuery, addon: NativeAddon = native()): RouteLookup {
  const { addr: dst, family, cidr } = parseCidr(query.dst);
  if (cidr !== dst.length * 8) throw new Error(`routeGet: ${query.dst} is a prefix, not an address`);
  const src = query.src === undefined ? null : parseCidr(query.src);
  if (src !== null && src.family !== family) throw new Error('routeGet: the source is of another family');
  const q = {
    ...query,
    dst: formatAddr(dst),
    mark: query.mark ?? 0,
    ipProto: query.ipProto ?? 0,
    sport: query.sport ?? 0,
    dport: query.dport ?? 0,
  };
  const ask = (fibMatch: boolean) =>
    addon.routeGet(dst, src?.addr ?? null, q.mark, q.uid ?? null, q.ipProto, q.sport, q.dport, fibMatch);
  const answer = ask(false);
  const lookup: RouteLookup = { query: q, family };
  let ruleAnswer: Parameters<typeof matchRule>[2];
  if ('error' in answer) {
    // A route's refusals come bare; with the kernel's words it refused the request itself (a
    // protocol it cannot look up by, an attribute an older kernel's strict checks do not know),
    // which must not read as a route (EINVAL is also a blackhole's).
    if (answer.message !== undefined)
      throw new Error(`route lookup: the kernel refused the request: ${answer.message} (${answer.error})`);
    lookup.error = answer.error;
    ruleAnswer = { error: answer.error };
  } else {
    const fib = ask(true);
    lookup.route = facts(answer, 'error' in fib ? undefined : fib);
    const prefixLength = 'error' in fib || fib.table !== answer.table ? undefined : fib.dstLen;
    ruleAnswer = { table: answer.table, ...(prefixLength !== undefined ? { prefixLength } : {}) };
  }
  const flow: RuleFlow = {
    family,
    dst: q.dst,
    ...(src !== null ? { src: formatAddr(src.addr) } : {}),
    mark: q.mark,
    uid: q.uid ?? (!('error' in answer) && answer.uid !== undefined ? answer.uid : (process.getuid?.() ?? 0)),
    ipProto: q.ipProto,
    sport: q.sport,
    dport: q.dport,
  };
  const rule = matchRule(addon.routeRules(family), flow, ruleAnswer);
  if (rule !== undefined) lookup.rule = matched(rule);
  return lookup;
}
