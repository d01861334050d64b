import { describe, expect, it } from 'vitest';
import type { RouteFacts, RouteLookup } from './route-get.js';
import { type RouteContext, routeStage } from './route-stage.js';

/** Stage 2's verdicts from lookups as routeGet returns them (route-get.test.ts checks those against the kernel). */

const CONTEXT: RouteContext = {
  iface: 'burrow0',
  exitNode: null,
  exitNodeMissing: false,
  acceptRoutes: false,
  offeredRoutes: [
    { peer: 'c', cidr: '10.1.0.0/16' },
    { peer: 'd', cidr: 'fd00:77::/64' },
  ],
};

const RULE_5270 = { priority: 5270, text: '5270:\tfrom all lookup 52', table: 52 };
const RULE_MAIN = { priority: 32766, text: '32766:\tfrom all lookup main', table: 254 };

function lookup(dst: string, route?: Partial<RouteFacts>, error?: string): RouteLookup {
  const out: RouteLookup = {
    query: { dst, mark: 0, ipProto: 6, sport: 0, dport: 80 },
    family: dst.includes(':') ? 6 : 4,
  };
  if (route) {
    out.route = { type: 'unicast', table: 254, tableName: 'main', ...route };
    out.rule = route.table === 52 ? RULE_5270 : RULE_MAIN;
  }
  if (error) out.error = error;
  return out;
}

const table52 = (dst: string, prefix: string) =>
  lookup(dst, { table: 52, tableName: '52', dev: 'burrow0', prefix, prefsrc: '100.64.0.1' });
const main = (dst: string, prefix = '0.0.0.0/0') =>
  lookup(dst, { dev: 'eth0', gateway: '192.168.5.1', prefix });

describe('routeStage', () => {
  it("passes a peer's address: table 52 through rule 5270 to the Burrow interface", () => {
    const stage = routeStage(table52('100.64.0.5', '100.64.0.5/32'), CONTEXT);
    expect(stage).toMatchObject({ verdict: 'burrow', passes: true });
    expect(stage.cause).toBe('table 52 through rule 5270 to burrow0 (100.64.0.5/32)');
  });

  it("says a destination of the main table is not Burrow's, naming the way it leaves", () => {
    const stage = routeStage(main('8.8.8.8'), CONTEXT);
    expect(stage).toMatchObject({ verdict: 'not-burrow', passes: false });
    expect(stage.cause).toBe("8.8.8.8 is not Burrow's: table main sends it via 192.168.5.1 on eth0");
  });

  it("passes internet traffic by the exit node's default route in table 52", () => {
    const stage = routeStage(table52('8.8.8.8', '0.0.0.0/0'), { ...CONTEXT, exitNode: 'exit-1' });
    expect(stage).toMatchObject({ verdict: 'exit-node', passes: true });
    expect(stage.cause).toMatch(/exit node exit-1's default route, on burrow0/);
  });

  it('stops it when the chosen exit node is missing: table 52 keeps it (fail closed), or refuses it', () => {
    const gone = { ...CONTEXT, exitNode: 'exit-1', exitNodeMissing: true };
    for (const l of [table52('8.8.8.8', '0.0.0.0/0'), lookup('8.8.8.8', undefined, 'EHOSTUNREACH')]) {
      const stage = routeStage(l, gone);
      expect(stage).toMatchObject({ verdict: 'exit-node-missing', passes: false });
      expect(stage.cause).toMatch(
        /exit node exit-1 is unavailable: internet traffic is blocked \(fail closed\)/,
      );
      expect(stage.fix).toMatch(/burrow set --exit-node=/);
    }
    // A peer's address still goes through while the exit node is away.
    expect(routeStage(table52('100.64.0.5', '100.64.0.0/10'), gone).verdict).toBe('burrow');
  });

  it('names the peer offering a subnet this device does not accept, however the kernel answers', () => {
    for (const l of [main('10.1.2.3'), lookup('10.1.2.3', undefined, 'ENETUNREACH')]) {
      const stage = routeStage(l, CONTEXT);
      expect(stage).toMatchObject({ verdict: 'routes-not-accepted', passes: false });
      expect(stage.cause).toBe('route 10.1.0.0/16 is offered by c but --accept-routes is off');
      expect(stage.fix).toBe('burrow set --accept-routes=true');
    }
    expect(routeStage(main('fd00:77::9', '::/0'), CONTEXT).cause).toMatch(/fd00:77::\/64 is offered by d/);
    // Accepted, the route is in table 52 and passes.
    expect(routeStage(table52('10.1.2.3', '10.1.0.0/16'), { ...CONTEXT, acceptRoutes: true }).verdict).toBe(
      'burrow',
    );
  });

  it("refuses with the kernel's reason, and the rule when one refused it", () => {
    expect(routeStage(lookup('203.0.113.9', undefined, 'ENETUNREACH'), CONTEXT)).toMatchObject({
      verdict: 'no-route',
      passes: false,
      cause: 'the kernel has no route to 203.0.113.9',
    });
    const byRule = lookup('100.64.0.5', undefined, 'EHOSTUNREACH');
    byRule.rule = { priority: 5250, text: '5250:\tfrom all fwmark 0x80000/0xff0000 unreachable' };
    expect(routeStage(byRule, CONTEXT).cause).toBe(
      'the kernel has an unreachable route to 100.64.0.5 (rule 5250: from all fwmark 0x80000/0xff0000 unreachable)',
    );
  });

  it("says when the destination is this device's own address", () => {
    const own = lookup('100.64.0.1', { type: 'local', table: 255, tableName: 'local', dev: 'lo' });
    expect(routeStage(own, CONTEXT)).toMatchObject({ verdict: 'local', passes: false });
  });
});
