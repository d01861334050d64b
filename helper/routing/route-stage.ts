import { parseCidr } from '../../src/packet/ip-text.js';
import type { RouteFacts } from '../../src/trace/facts.js';
import { ROUTE_TABLE } from './linux-routing.js';
import type { RouteLookup } from './route-get.js';

/**
 * The trace's stage 2, "Route": what the kernel's answer (route-get.ts) means for a Burrow device,
 * as the facts src/trace/trace-report.ts judges. Pure: the lookup and what burrowd knows of the map
 * and its prefs in, the stage's facts out.
 *
 * For the trace wiring, in burrowd's namespace:
 *   const started = performance.now();
 *   const lookup = routeGet({ dst, ipProto, dport, uid });   // the asking user's uid
 *   const route = routeStage(lookup, context, performance.now() - started);
 * The kinds:
 * - burrow: table 52 (through rule 5270, or 5260 in a full tunnel) to Burrow's interface; exitNode
 *   when the prefix is table 52's default route. A chosen exit node that is missing keeps that
 *   default route (fail closed): stage 2 passes it on, and stage 3 (InsideFacts.exitNode) stops it.
 * - routes-not-accepted: the destination is in a subnet a peer offers, and this device does not
 *   accept routes, so the kernel sends it elsewhere or nowhere.
 * - other: another table carries it (main, or local for this device's own address): not Burrow's.
 * - unreachable: the kernel refuses it; `error` says how, names the refusing rule when there is
 *   one, and a missing exit node when its default route was replaced by a refusing one.
 */

/** What burrowd knows that the kernel does not. */
export interface RouteContext {
  /** Burrow's interface ("burrow0"). */
  iface: string;
  /** The exit node the user chose (its name), or null for none. */
  exitNode: string | null;
  /** The chosen exit node is not in the map, or no longer offered (MeshPlan.exitNodeMissing). */
  exitNodeMissing: boolean;
  acceptRoutes: boolean;
  /** Subnet routes the map's peers offer (NodeInfo.routes), by peer name. */
  offeredRoutes: readonly { peer: string; cidr: string }[];
}

/** The first offered route holding the destination. */
function offeredRoute(dst: string, offered: RouteContext['offeredRoutes']) {
  const target = parseCidr(dst);
  return offered.find(({ cidr }) => {
    const p = parseCidr(cidr);
    if (p.family !== target.family) return false;
    for (let bit = 0; bit < p.cidr; bit++) {
      const mask = 0x80 >> (bit % 8);
      if ((p.addr[bit >> 3]! & mask) !== (target.addr[bit >> 3]! & mask)) return false;
    }
    return true;
  });
}

/** The kernel's refusals in words (the errno stays, for whoever knows it). */
const REFUSALS: Record<string, string> = {
  ENETUNREACH: 'no route (ENETUNREACH)',
  EHOSTUNREACH: 'an unreachable route (EHOSTUNREACH)',
  EACCES: 'a prohibit route (EACCES)',
  EINVAL: 'a blackhole route (EINVAL)',
};

const isDefault = (prefix: string | undefined) => prefix === '0.0.0.0/0' || prefix === '::/0';

export function routeStage(lookup: RouteLookup, context: RouteContext, ms: number): RouteFacts {
  const offered = offeredRoute(lookup.query.dst, context.offeredRoutes);
  const route = lookup.route;
  const ours = route !== undefined && route.table === ROUTE_TABLE && route.dev === context.iface;
  if (!ours && offered !== undefined && !context.acceptRoutes) {
    return { kind: 'routes-not-accepted', prefix: offered.cidr, offeredBy: offered.peer, ms };
  }
  if (route === undefined) {
    const error = lookup.error ?? 'no answer';
    let text = REFUSALS[error] ?? error;
    if (lookup.rule) text += ` from rule ${lookup.rule.text.replace('\t', ' ')}`;
    if (context.exitNode !== null && context.exitNodeMissing && error !== 'ENETUNREACH') {
      text += `: exit node ${context.exitNode} is missing, and internet traffic is blocked (fail closed)`;
    }
    return { kind: 'unreachable', error: text, ms };
  }
  if (!ours) {
    return { kind: 'other', table: route.table, dev: route.dev ?? null, gateway: route.gateway ?? null, ms };
  }
  return {
    kind: 'burrow',
    table: route.table,
    rule: lookup.rule?.priority ?? null,
    dev: context.iface,
    // Only if the table changed between the lookup and its fib match (route-get.ts).
    prefix: route.prefix ?? 'unknown',
    exitNode: isDefault(route.prefix) && context.exitNode !== null,
    ms,
  };
}
