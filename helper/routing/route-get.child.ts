/**
 * The namespace side of route-get.test.ts: lays out a Burrow device's routing with LinuxRouting
 * (table 52 looked up by rule 5270, the bypass rules for mark 0x80000, a throw route) beside a LAN
 * on "lan0" with a default route, then asks routeGet and `ip -j -d route get` (plain and fibmatch)
 * the same questions and prints both, one JSON line. Started only inside a test namespace: everything it adds goes with the namespace.
 *   ip netns exec NS node --import tsx helper/routing/route-get.child.ts
 */
import { execFileSync } from 'node:child_process';
import { done, errorOf, timeout } from '../../test/support/child-script.js';
import { LinuxRouting } from './linux-routing.js';
import { type RouteQuery, routeGet } from './route-get.js';

const timer = timeout(20_000, 'route-get scenario');

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** What ip says: its JSON route, or its refusal ("No route to host"). */
function ipGet(args: string[]): unknown {
  try {
    return JSON.parse(execFileSync('ip', ['-j', '-d', ...args], { encoding: 'utf8', stdio: 'pipe' }))[0];
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
    return { refusal: stderr.replace(/^RTNETLINK answers: /, '').trim() };
  }
}

/** The `ip route get` words for a query. */
function words(q: RouteQuery): string[] {
  const out = [q.dst];
  if (q.mark) out.push('mark', `0x${q.mark.toString(16)}`);
  if (q.uid !== undefined) out.push('uid', String(q.uid));
  if (q.ipProto) out.push('ipproto', String(q.ipProto));
  if (q.dport) out.push('dport', String(q.dport));
  return out;
}

const family = (q: RouteQuery) => (q.dst.includes(':') ? '-6' : '-4');

function ask(name: string, q: RouteQuery) {
  return {
    name,
    ours: routeGet(q),
    ip: ipGet([family(q), 'route', 'get', ...words(q)]),
    ipFib: ipGet([family(q), 'route', 'get', 'fibmatch', ...words(q)]),
  };
}

// The LAN: an on-link prefix and an IPv4 default route through its router (no IPv6 default).
ip(['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1']);
ip(['link', 'add', 'burrow0', 'type', 'veth', 'peer', 'name', 'burrow1']);
for (const dev of ['lan0', 'lan1', 'burrow1']) ip(['link', 'set', dev, 'up']);
ip(['address', 'add', '192.168.5.2/24', 'dev', 'lan0']);
ip(['address', 'add', 'fd00:5::2/64', 'dev', 'lan0', 'nodad']);
ip(['route', 'add', 'default', 'via', '192.168.5.1']);
// Burrow's interface, table 52 and its rules, laid out by burrowd's own LinuxRouting.
const routing = new LinuxRouting('burrow0');
await routing.up(
  { name: 'burrow0', mtu: 1280, addresses: ['100.64.0.1/32', 'fd7a:115c:a1e0::1/128'] },
  ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'],
  ['10.6.0.0/16'],
);
ip(['route', 'add', 'unreachable', '10.9.0.0/16', 'table', '52']);
ip(['route', 'add', 'prohibit', '10.7.0.0/16', 'table', '52']);
ip(['route', 'add', 'blackhole', '10.8.0.0/16', 'table', '52']);
// A rule for TCP port 443 only, and one for uid 1234 only, each to a table of its own.
ip(['rule', 'add', 'priority', '5000', 'ipproto', 'tcp', 'dport', '443', 'table', '99']);
ip(['route', 'add', '9.9.9.0/24', 'dev', 'lan0', 'table', '99']);
ip(['rule', 'add', 'priority', '5001', 'uidrange', '1234-1234', 'table', '98']);
ip(['route', 'add', '9.9.9.0/24', 'via', '192.168.5.3', 'table', '98']);

const results = [
  ask('table 52', { dst: '100.64.0.5' }),
  ask('own address', { dst: '100.64.0.1' }),
  ask('main on-link', { dst: '192.168.5.7' }),
  ask('main default', { dst: '8.8.8.8' }),
  ask('unreachable in 52', { dst: '10.9.1.1' }),
  ask('prohibit in 52', { dst: '10.7.1.1' }),
  ask('blackhole in 52', { dst: '10.8.1.1' }),
  ask('throw in 52', { dst: '10.6.1.1' }),
  ask('ipv6 table 52', { dst: 'fd7a:115c:a1e0::5' }),
  ask('ipv6 main on-link', { dst: 'fd00:5::9' }),
  ask('ipv6 no route', { dst: '2001:db8::1' }),
  ask('bypass mark to main', { dst: '100.64.0.5', mark: 0x80000 }),
  ask('bypass mark unreachable', { dst: 'fd7a:115c:a1e0::5', mark: 0x80000 }),
  ask('tcp 443 rule', { dst: '9.9.9.9', ipProto: 6, dport: 443 }),
  ask('udp 443 passes it', { dst: '9.9.9.9', ipProto: 17, dport: 443 }),
  ask('uid rule', { dst: '9.9.9.9', uid: 1234 }),
];
// An exit node: table 52 takes the default route, and the throw route still leaves by main.
await routing.setRoutes(['100.64.0.0/10', 'fd7a:115c:a1e0::/48', '0.0.0.0/0'], ['10.6.0.0/16']);
results.push(ask('exit node default', { dst: '8.8.8.8' }), ask('exit node throw', { dst: '10.6.1.1' }));

// A protocol the kernel cannot look routes up by: the request is refused, not answered.
const refused = errorOf(() => routeGet({ dst: '100.64.0.5', ipProto: 47 }));

clearTimeout(timer);
done({ results, refused });
