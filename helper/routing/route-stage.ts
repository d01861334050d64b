import { parseCidr } from '../../src/packet/ip-text.js';
import { ROUTE_TABLE } from './linux-routing.js';
import type { RouteLookup } from './route-get.js';

/**
 * The trace's stage 2, "Route": what the kernel's answer (route-get.ts) means for a Burrow device.
 * Pure: the lookup and what burrowd knows of the map and its prefs in, a verdict out.
 *
 * For the trace wiring: call routeGet({dst, ipProto, dport, uid}) in burrowd's namespace, then
 * routeStage(lookup, context). `passes` says whether the packet goes on into burrowd (stage 3);
 * when it does not, `cause` names why in the user's words and `fix` says what to do, if anything.
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

export type RouteVerdict =
  /** Table 52, through rule 5270, to the Burrow interface: a peer's address or accepted route. */
  | 'burrow'
  /** Table 52's default route while an exit node is in use. */
  | 'exit-node'
  /** An exit node is chosen but missing: table 52 keeps the traffic and it is dropped (fail closed). */
  | 'exit-node-missing'
  /** Inside a subnet a peer offers, but this device does not accept routes. */
  | 'routes-not-accepted'
  /** Another table (main) carries it: not Burrow's. */
  | 'not-burrow'
  /** It is this device's own address. */
  | 'local'
  /** The kernel refuses it: no route, or an unreachable, prohibit or blackhole route or rule. */
  | 'no-route';

export interface RouteStage {
  verdict: RouteVerdict;
  /** Whether the packet goes on into burrowd. */
  passes: boolean;
  /** One sentence for the user: what the kernel does, and why. */
  cause: string;
  fix?: string;
  lookup: RouteLookup;
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

const REFUSALS: Record<string, string> = {
  ENETUNREACH: 'has no route to',
  EHOSTUNREACH: 'has an unreachable route to',
  EACCES: 'prohibits',
  EINVAL: 'blackholes',
};

export function routeStage(lookup: RouteLookup, context: RouteContext): RouteStage {
  const dst = lookup.query.dst;
  const out = (verdict: RouteVerdict, passes: boolean, cause: string, fix?: string): RouteStage => ({
    verdict,
    passes,
    cause,
    ...(fix !== undefined ? { fix } : {}),
    lookup,
  });
  const offered = offeredRoute(dst, context.offeredRoutes);
  const notAccepted = () =>
    out(
      'routes-not-accepted',
      false,
      `route ${offered!.cidr} is offered by ${offered!.peer} but --accept-routes is off`,
      'burrow set --accept-routes=true',
    );
  const missingExit = () =>
    out(
      'exit-node-missing',
      false,
      `exit node ${context.exitNode} is unavailable: internet traffic is blocked (fail closed) until it returns`,
      'choose another exit node (burrow set --exit-node=NAME), or go direct (burrow set --exit-node=)',
    );
  const route = lookup.route;
  if (route === undefined) {
    const by = lookup.rule ? ` (rule ${lookup.rule.text.replace('\t', ' ')})` : '';
    if (offered !== undefined && !context.acceptRoutes) return notAccepted();
    // Fail closed: an unreachable or blackhole route in table 52 where the exit node's default was.
    if (context.exitNode !== null && context.exitNodeMissing && lookup.error !== 'ENETUNREACH')
      return missingExit();
    const what = REFUSALS[lookup.error ?? ''] ?? `refuses (${lookup.error})`;
    return out('no-route', false, `the kernel ${what} ${dst}${by}`);
  }
  if (route.type === 'local') return out('local', false, `${dst} is this device's own address`);
  const ours = route.table === ROUTE_TABLE && route.dev === context.iface;
  if (!ours) {
    if (offered !== undefined && !context.acceptRoutes) return notAccepted();
    const via = `${route.gateway ? ` via ${route.gateway}` : ''}${route.dev ? ` on ${route.dev}` : ''}`;
    return out('not-burrow', false, `${dst} is not Burrow's: table ${route.tableName} sends it${via}`);
  }
  const rule = lookup.rule ? ` through rule ${lookup.rule.priority}` : '';
  const isDefault = route.prefix === '0.0.0.0/0' || route.prefix === '::/0';
  if (isDefault && context.exitNode !== null) {
    if (context.exitNodeMissing) return missingExit();
    return out(
      'exit-node',
      true,
      `table ${ROUTE_TABLE}${rule}: the exit node ${context.exitNode}'s default route, on ${context.iface}`,
    );
  }
  return out(
    'burrow',
    true,
    `table ${ROUTE_TABLE}${rule} to ${context.iface}${route.prefix ? ` (${route.prefix})` : ''}`,
  );
}
