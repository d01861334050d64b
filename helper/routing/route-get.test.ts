import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, Netns } from '../../test/support/netns.js';
import type { RouteLookup } from './route-get.js';
import { type RouteContext, routeStage } from './route-stage.js';

/** The lookups run in a child process inside a fresh namespace: see route-get.child.ts. */
const CHILD = fileURLToPath(new URL('./route-get.child.ts', import.meta.url));

afterEach(cleanupAll);

interface Asked {
  name: string;
  ours: RouteLookup;
  // biome-ignore lint/suspicious/noExplicitAny: ip's JSON, compared field by field below
  ip: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  ipFib: any;
}

/** ip's words for the kernel's refusals. */
const REFUSALS: Record<string, string> = {
  'Network is unreachable': 'ENETUNREACH',
  'No route to host': 'EHOSTUNREACH',
  'Permission denied': 'EACCES',
  'Invalid argument': 'EINVAL',
};

/** ip -d prints a fib match's prefix as "default", or a host route without its length. */
function ipPrefix(dst: string, v6: boolean): string {
  if (dst === 'default') return v6 ? '::/0' : '0.0.0.0/0';
  return dst.includes('/') ? dst : `${dst}/${v6 ? 128 : 32}`;
}

describe.skipIf(!isRoot())('routeGet against ip route get (needs root: a test namespace)', () => {
  it('answers every question as ip -j route get does, and names the rule that decided it', async () => {
    const ns = await Netns.create('rtg');
    const { stdout } = await ns.exec('node', ['--import', 'tsx', CHILD], { timeout: 30_000 });
    const { results, refused }: { results: Asked[]; refused: { message: string } } = JSON.parse(
      stdout.trim().split('\n').at(-1) ?? '',
    );
    // The kernel's refusal of the request itself is an error, never a route's refusal (EINVAL is a blackhole's).
    expect(refused.message).toBe(
      'route lookup: the kernel refused the request: Unsupported ip proto (EOPNOTSUPP)',
    );
    for (const { name, ours, ip, ipFib } of results) {
      if (ip.refusal !== undefined) {
        expect({ name, error: ours.error }).toEqual({ name, error: REFUSALS[ip.refusal] });
        expect(ours.route).toBeUndefined();
        continue;
      }
      const route = ours.route!;
      expect({ name, type: route.type, table: route.tableName, dev: route.dev }).toEqual({
        name,
        type: ip.type,
        table: ip.table,
        dev: ip.dev,
      });
      expect({ name, gateway: route.gateway, prefsrc: route.prefsrc }).toEqual({
        name,
        gateway: ip.gateway,
        prefsrc: ip.prefsrc,
      });
      expect({ name, prefix: route.prefix }).toEqual({
        name,
        prefix: ipPrefix(ipFib.dst, ours.family === 6),
      });
    }
    const rule = (name: string) => results.find((r) => r.name === name)?.ours.rule?.priority;
    expect(rule('table 52')).toBe(5270);
    expect(rule('ipv6 table 52')).toBe(5270);
    expect(rule('exit node default')).toBe(5270);
    expect(rule('own address')).toBe(0);
    expect(rule('main default')).toBe(32766);
    // A throw route in table 52 falls through to main.
    expect(rule('throw in 52')).toBe(32766);
    expect(rule('exit node throw')).toBe(32766);
    // burrowd's own marked UDP bypasses table 52, and is refused rather than tunnelled without main.
    expect(rule('bypass mark to main')).toBe(5210);
    expect(rule('bypass mark unreachable')).toBe(5250);
    expect(rule('tcp 443 rule')).toBe(5000);
    expect(rule('udp 443 passes it')).toBe(32766);
    expect(rule('uid rule')).toBe(5001);
    // An unreachable route in a table: the kernel does not say which table, so no rule is named.
    expect(rule('unreachable in 52')).toBeUndefined();
    // Stage 2's facts from the kernel's own answers.
    const context: RouteContext = {
      iface: 'burrow0',
      exitNode: null,
      exitNodeMissing: false,
      acceptRoutes: false,
      offeredRoutes: [],
    };
    const kind = (name: string, more: Partial<RouteContext> = {}) => {
      const facts = routeStage(results.find((r) => r.name === name)!.ours, { ...context, ...more }, 0);
      return facts.kind === 'burrow'
        ? `burrow ${facts.prefix}${facts.exitNode ? ' exit node' : ''}`
        : facts.kind;
    };
    expect(kind('table 52')).toBe('burrow 100.64.0.0/10');
    expect(kind('ipv6 table 52')).toBe('burrow fd7a:115c:a1e0::/48');
    expect(kind('main default')).toBe('other');
    expect(kind('own address')).toBe('other');
    expect(kind('ipv6 no route')).toBe('unreachable');
    expect(kind('exit node default', { exitNode: 'exit-1' })).toBe('burrow 0.0.0.0/0 exit node');
    // The throw route keeps the control server's prefix out of the exit node's default route.
    expect(kind('exit node throw', { exitNode: 'exit-1' })).toBe('other');
    expect(kind('main on-link', { offeredRoutes: [{ peer: 'c', cidr: '192.168.5.0/24' }] })).toBe(
      'routes-not-accepted',
    );
    const named = results.find((r) => r.name === 'bypass mark to main')!.ours.rule!;
    expect(named.text).toBe('5210:\tfrom all fwmark 0x80000/0xff0000 lookup main');
  });
});
