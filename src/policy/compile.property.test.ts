/**
 * The compiled filters mean what the policy means: for random policies over random networks,
 * every device's compiled filter admits exactly the packets `allows` (the plain reading of the
 * policy) admits, for every address the device holds or routes.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { PolicyCompiler } from './compile.js';
import { allows } from './evaluate.js';
import { matchesFilter } from './filter.js';
import type { PolicyContext, PolicyDevice } from './model.js';
import { parsePolicy } from './parse.js';
import { containsAddress, formatPrefix, parseAddress, parsePrefix } from './prefix.js';

const SCENARIOS = 300;
const CASES_PER_DEVICE = 12;

const USERS = ['ann@example.com', 'ben@example.com', 'cat@example.com', 'dan', 'eve@example.com'];
const TAGS = ['tag:web', 'tag:db', 'tag:ops'];
const SUBNETS = ['10.1.0.0/16', '10.2.0.0/16', '192.168.7.0/24'];
const EXIT = ['0.0.0.0/0', '::/0'];
const PROTOCOLS = [6, 17, 1, 58, 47, 132];
const PORTS = [0, 22, 80, 443, 8080, 65535];

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)]!;
const some = <T>(rng: Rng, min: number, max: number, make: () => T): T[] =>
  Array.from({ length: min + rng.int(max - min + 1) }, make);

function randomContext(rng: Rng): PolicyContext {
  const devices = Array.from({ length: 2 + rng.int(17) }, (_, i): PolicyDevice => {
    const shared = rng.chance(0.15);
    const ips = [`100.64.${i >> 3}.${1 + (i & 7)}`, `fd7a:115c:a1e0::${(i + 1).toString(16)}`];
    const routes = rng.chance(0.2) ? [pick(rng, SUBNETS)] : rng.chance(0.1) ? EXIT : undefined;
    return {
      id: `d${i}`,
      user: rng.chance(0.1) ? 'zoe@other.org' : pick(rng, USERS),
      network: shared ? 'other' : 'net',
      tags: rng.chance(0.3) ? [...new Set(some(rng, 1, 2, () => pick(rng, TAGS)))] : [],
      // Some devices have one family only.
      ips: rng.chance(0.15) ? [pick(rng, ips)] : ips,
      shared,
      ...(routes === undefined ? {} : { routes }),
    };
  });
  return { network: 'net', members: USERS.filter(() => rng.chance(0.8)), devices };
}

/** A random policy, as HuJSON text, over the names randomContext uses. */
function randomPolicy(rng: Rng): string {
  const aligned = () =>
    pick(rng, [
      `100.64.0.${rng.int(8)}`,
      `100.64.0.${4 * rng.int(4)}/30`,
      '100.64.0.0/29',
      '100.64.0.0/24',
      `fd7a:115c:a1e0::${(1 + rng.int(12)).toString(16)}`,
      'fd7a:115c:a1e0::/120',
      '10.0.0.0/8',
      '10.1.2.0/24',
      '192.168.7.128/25',
      '8.8.0.0/16',
      '0.0.0.0/0',
    ]);
  const identity = () =>
    pick(rng, [
      '*',
      pick(rng, USERS),
      'group:a',
      'group:b',
      pick(rng, TAGS),
      'one',
      'lan',
      'autogroup:member',
      'autogroup:shared',
      aligned(),
    ]);
  const target = () => (rng.chance(0.2) ? pick(rng, ['autogroup:self', 'autogroup:internet']) : identity());
  const acls = some(rng, 0, 5, () => {
    const proto = rng.chance(0.6) ? undefined : pick(rng, ['tcp', 'udp', 'icmp', '47', 'sctp']);
    const portless = proto === 'icmp' || proto === '47';
    const ports = () =>
      portless ? '*' : pick(rng, ['*', '22', '80,443', '80-8080', '0', '65535', '22,443-9000']);
    return {
      action: 'accept',
      src: some(rng, 1, 3, identity),
      dst: some(rng, 1, 3, () => `${target()}:${ports()}`),
      ...(proto === undefined ? {} : { proto }),
    };
  });
  return JSON.stringify({
    groups: {
      'group:a': some(rng, 0, 3, () => pick(rng, USERS)),
      'group:b': [...some(rng, 0, 2, () => pick(rng, USERS)), 'group:a'],
    },
    hosts: { one: `100.64.0.${1 + rng.int(8)}`, lan: pick(rng, ['10.1.2.0/24', '192.168.7.0/25']) },
    tagOwners: Object.fromEntries(TAGS.map((t) => [t, []])),
    acls,
  });
}

/**
 * Destination addresses that go to `device`: those it holds, and some that no device holds and
 * for which it alone has the most specific route (where peers send them).
 */
function ownedAddresses(rng: Rng, ctx: PolicyContext, device: PolicyDevice): string[] {
  const held = new Set(ctx.devices.flatMap((d) => d.ips.map((ip) => formatPrefix(parseAddress(ip)))));
  const candidates = [
    '10.1.2.3',
    '10.1.200.1',
    '10.2.0.9',
    '192.168.7.5',
    '192.168.7.200',
    '8.8.8.8',
    '1.1.1.1',
  ];
  candidates.push('172.16.0.1', '100.64.9.9', '2606:4700::1111', 'fd00::1', 'fd7a:115c:a1e0::ff');
  const routed = candidates.filter((ip) => {
    const addr = parseAddress(ip);
    if (held.has(formatPrefix(addr))) return false;
    const routes = ctx.devices.flatMap((d) =>
      (d.routes ?? [])
        .map(parsePrefix)
        .flatMap((r) => (containsAddress(r, addr.addr) ? [{ d, bits: r.bits }] : [])),
    );
    const best = routes.filter((r) => r.bits === Math.max(...routes.map((q) => q.bits)));
    return best.length === 1 && best[0]!.d === device;
  });
  return [
    ...device.ips,
    ...some(rng, 0, 2, () => routed[rng.int(routed.length)]).filter((ip) => ip !== undefined),
  ];
}

describe('compiled filters agree with the policy', () => {
  it(`on ${SCENARIOS} random policies and networks`, () => {
    const rng = new Rng(1);
    let checked = 0;
    let accepted = 0;
    for (let scenario = 0; scenario < SCENARIOS; scenario++) {
      const ctx = randomContext(rng);
      const text = rng.chance(0.1) ? null : randomPolicy(rng);
      const policy = text === null ? null : parsePolicy(text);
      const compiler = new PolicyCompiler(policy, ctx);
      for (const device of ctx.devices) {
        const rules = compiler.compileFor(device);
        const dsts = ownedAddresses(rng, ctx, device);
        for (let i = 0; i < CASES_PER_DEVICE; i++) {
          const src = pick(rng, ctx.devices);
          const srcIp = pick(rng, src.ips);
          const dstIp = pick(rng, dsts);
          const port = rng.chance(0.8) ? pick(rng, PORTS) : rng.int(65536);
          const proto = pick(rng, PROTOCOLS);
          const expected = allows(policy, ctx, src, { ip: dstIp, port, proto });
          const actual = matchesFilter(rules, srcIp, dstIp, port, proto);
          if (actual !== expected) {
            const where = `scenario ${scenario}: ${src.id} ${srcIp} -> ${device.id} ${dstIp}:${port} proto ${proto}`;
            expect.fail(
              `${where}\npolicy: ${text}\ndevices: ${JSON.stringify(ctx)}\nfilter: ${JSON.stringify(rules)}`,
            );
          }
          checked++;
          if (expected) accepted++;
        }
      }
    }
    // Both answers must be common, or the comparison says little.
    expect(checked).toBeGreaterThan(20_000);
    expect(accepted / checked).toBeGreaterThan(0.1);
    expect(accepted / checked).toBeLessThan(0.9);
  });
});
