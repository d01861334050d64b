import { describe, expect, it } from 'vitest';
import { buildTraceReport } from '../../src/trace/trace-report.js';
import type { KernelRoute, RouteLookup } from './route-get.js';
import { type RouteContext, routeStage } from './route-stage.js';

/** Stage 2's facts from lookups as routeGet returns them (route-get.test.ts checks those against the kernel). */

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

function lookup(dst: string, route?: Partial<KernelRoute>, error?: string): RouteLookup {
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
    expect(routeStage(table52('100.64.0.5', '100.64.0.5/32'), CONTEXT, 0.4)).toEqual({
      kind: 'burrow',
      table: 52,
      rule: 5270,
      dev: 'burrow0',
      prefix: '100.64.0.5/32',
      exitNode: false,
      ms: 0.4,
    });
  });

  it("says a destination of the main table is not Burrow's, with the way it leaves", () => {
    expect(routeStage(main('8.8.8.8'), CONTEXT, 1)).toEqual({
      kind: 'other',
      table: 254,
      dev: 'eth0',
      gateway: '192.168.5.1',
      ms: 1,
    });
    // This device's own address is the local table's.
    const own = lookup('100.64.0.1', { type: 'local', table: 255, tableName: 'local', dev: 'lo' });
    expect(routeStage(own, CONTEXT, 1)).toMatchObject({ kind: 'other', table: 255, dev: 'lo' });
  });

  it("passes internet traffic by table 52's default route while an exit node is chosen, missing or not", () => {
    for (const exitNodeMissing of [false, true]) {
      const context = { ...CONTEXT, exitNode: 'exit-1', exitNodeMissing };
      // A missing exit node keeps its default route (fail closed): stage 3 stops the packet.
      expect(routeStage(table52('8.8.8.8', '0.0.0.0/0'), context, 1)).toMatchObject({
        kind: 'burrow',
        prefix: '0.0.0.0/0',
        exitNode: true,
      });
    }
    expect(routeStage(table52('8.8.8.8', '0.0.0.0/0'), CONTEXT, 1)).toMatchObject({ exitNode: false });
  });

  it('names a missing exit node when a refusing route took the place of its default route', () => {
    const gone = { ...CONTEXT, exitNode: 'exit-1', exitNodeMissing: true };
    expect(routeStage(lookup('8.8.8.8', undefined, 'EHOSTUNREACH'), gone, 1)).toEqual({
      kind: 'unreachable',
      error:
        'an unreachable route (EHOSTUNREACH): exit node exit-1 is missing, and internet traffic is blocked (fail closed)',
      ms: 1,
    });
  });

  it('names the peer offering a subnet this device does not accept, however the kernel answers', () => {
    for (const l of [main('10.1.2.3'), lookup('10.1.2.3', undefined, 'ENETUNREACH')]) {
      expect(routeStage(l, CONTEXT, 1)).toEqual({
        kind: 'routes-not-accepted',
        prefix: '10.1.0.0/16',
        offeredBy: 'c',
        ms: 1,
      });
    }
    expect(routeStage(main('fd00:77::9', '::/0'), CONTEXT, 1)).toMatchObject({ offeredBy: 'd' });
    // Accepted, the route is in table 52 and passes.
    const accepted = routeStage(table52('10.1.2.3', '10.1.0.0/16'), { ...CONTEXT, acceptRoutes: true }, 1);
    expect(accepted).toMatchObject({ kind: 'burrow', prefix: '10.1.0.0/16' });
  });

  it("gives the kernel's refusal in words, with the rule when one refused it", () => {
    expect(routeStage(lookup('203.0.113.9', undefined, 'ENETUNREACH'), CONTEXT, 1)).toMatchObject({
      kind: 'unreachable',
      error: 'no route (ENETUNREACH)',
    });
    const byRule = lookup('100.64.0.5', undefined, 'EHOSTUNREACH');
    byRule.rule = { priority: 5250, text: '5250:\tfrom all fwmark 0x80000/0xff0000 unreachable' };
    expect(routeStage(byRule, CONTEXT, 1)).toMatchObject({
      error:
        'an unreachable route (EHOSTUNREACH) from rule 5250: from all fwmark 0x80000/0xff0000 unreachable',
    });
  });

  it('reads as the trace report wants: the offered subnet named at the route stage', () => {
    const route = routeStage(main('10.1.2.3'), CONTEXT, 1);
    const report = buildTraceReport({
      query: { target: '10.1.2.3', protocol: 'tcp', port: 80 },
      self: { name: 'laptop', user: 'alice', network: 'team' },
      now: 0,
      totalMs: 2,
      destination: { resolved: true, ip: '10.1.2.3', via: 'address', device: null, ms: 0 },
      route,
    });
    const stage = report.stages.find((s) => s.name === 'route')!;
    expect(stage.status).toBe('blocked');
    expect(stage.summary).toBe('route 10.1.0.0/16 is offered by c but --accept-routes is off');
  });
});
