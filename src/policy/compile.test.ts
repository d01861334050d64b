import { describe, expect, it } from 'vitest';
import { compileFor, PolicyCompiler } from './compile.js';
import type { FilterRule } from './filter.js';
import { INTERNET_PREFIXES } from './internet.js';
import type { PolicyContext, PolicyDevice } from './model.js';
import { parsePolicy } from './parse.js';
import { formatPrefix } from './prefix.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

function device(id: string, user: string, ips: string[], more: Partial<PolicyDevice> = {}): PolicyDevice {
  return { id, user, network: more.shared ? 'other' : 'net', tags: [], ips, shared: false, ...more };
}

const DEVICES = [
  device('a1', ALICE, ['100.64.0.1', 'fd7a:115c:a1e0::1']),
  device('a2', ALICE, ['100.64.0.2']),
  device('b1', BOB, ['100.64.0.3']),
  device('db', BOB, ['100.64.0.10', 'fd7a:115c:a1e0::a'], { tags: ['tag:db'] }),
  device('router', BOB, ['100.64.0.20'], { tags: ['tag:router'], routes: ['10.1.0.0/16'] }),
  device('exit', BOB, ['100.64.0.30'], { tags: ['tag:router'], routes: ['0.0.0.0/0', '::/0'] }),
  device('shared', 'dave@other.org', ['100.64.0.40'], { shared: true }),
];
const CTX: PolicyContext = { network: 'net', members: [ALICE, BOB], devices: DEVICES };
const ALICE_IPS = '100.64.0.1/32 100.64.0.2/32 fd7a:115c:a1e0::1/128';
const ANY = '0.0.0.0/0 ::/0';

/** "srcs -> dst:ports ... [proto n,m]", ports as "22", "80-89" or "*". */
function show(rules: readonly FilterRule[]): string[] {
  return rules.map((r) => {
    const dsts = r.dstPorts.map(({ ip, ports: { first, last } }) => {
      const ports = first === 0 && last === 65535 ? '*' : first === last ? `${first}` : `${first}-${last}`;
      return `${ip}:${ports}`;
    });
    const proto = r.protocols.length === 0 ? '' : ` proto ${r.protocols.join(',')}`;
    return `${r.srcIps.join(' ')} -> ${dsts.join(' ')}${proto}`;
  });
}

function policy(acls: string, extra = ''): string {
  return `{
    "groups": {"group:eng": ["${ALICE}", "${BOB}"], "group:nobody": ["zed@example.com"]},
    "hosts": {"office": "10.1.2.0/24", "bobs": "100.64.0.3"},
    "tagOwners": {"tag:db": ["group:eng"], "tag:router": []},
    ${extra}
    "acls": [${acls}],
  }`;
}

const rule = (src: string, dst: string, proto?: string) =>
  `{"action": "accept", "src": [${src}], "dst": [${dst}]${proto ? `, "proto": "${proto}"` : ''}}`;

describe('compileFor', () => {
  it.each<[string, string, string, string[]]>([
    [
      'a tag as destination',
      rule('"group:eng"', '"tag:db:5432"'),
      'db',
      [
        '100.64.0.1/32 100.64.0.2/32 100.64.0.3/32 fd7a:115c:a1e0::1/128 -> 100.64.0.10/32:5432 fd7a:115c:a1e0::a/128:5432',
      ],
    ],
    ['nothing for devices the rule does not reach', rule('"group:eng"', '"tag:db:5432"'), 'a1', []],
    ['a group as destination', rule('"*"', '"group:eng:22"'), 'b1', [`${ANY} -> 100.64.0.3/32:22`]],
    ['a group does not include tagged devices', rule('"*"', '"group:eng:22"'), 'db', []],
    [
      'a user as source and destination',
      rule(`"${BOB}"`, `"${ALICE}:80"`),
      'a2',
      ['100.64.0.3/32 -> 100.64.0.2/32:80'],
    ],
    [
      'autogroup:self',
      rule('"autogroup:member"', '"autogroup:self:*"'),
      'a1',
      [`${ALICE_IPS} -> 100.64.0.1/32:* fd7a:115c:a1e0::1/128:*`],
    ],
    ['autogroup:self is for user devices only', rule('"autogroup:member"', '"autogroup:self:*"'), 'db', []],
    [
      'autogroup:self, from the sources the rule selects',
      rule('"100.64.0.2"', '"autogroup:self:22"'),
      'a1',
      ['100.64.0.2/32 -> 100.64.0.1/32:22 fd7a:115c:a1e0::1/128:22'],
    ],
    ['autogroup:self is by owner', rule('"100.64.0.2"', '"autogroup:self:22"'), 'b1', []],
    [
      'autogroup:self beside other destinations of the same rule',
      rule('"autogroup:member"', '"autogroup:self:22", "tag:db:22"'),
      'a2',
      [`${ALICE_IPS} -> 100.64.0.2/32:22`],
    ],
    [
      'a host behind a subnet router',
      rule(`"${ALICE}"`, '"office:80,443"'),
      'router',
      [`${ALICE_IPS} -> 10.1.2.0/24:80 10.1.2.0/24:443`],
    ],
    [
      'a CIDR wider than a route, narrowed to it',
      rule(`"${BOB}"`, '"10.0.0.0/8:*"'),
      'router',
      ['100.64.0.3/32 -> 10.1.0.0/16:*'],
    ],
    [
      'a host naming a device as source',
      rule('"bobs"', `"${ALICE}:22"`),
      'a2',
      ['100.64.0.3/32 -> 100.64.0.2/32:22'],
    ],
    [
      'a CIDR selects the devices in it, at all their addresses',
      rule('"tag:db"', '"100.64.0.0/31:9000-9001"', 'udp'),
      'a1',
      [
        '100.64.0.10/32 fd7a:115c:a1e0::a/128 -> 100.64.0.1/32:9000-9001 fd7a:115c:a1e0::1/128:9000-9001 proto 17',
      ],
    ],
    ['... and no device outside it', rule('"tag:db"', '"100.64.0.0/31:9000"', 'udp'), 'b1', []],
    [
      'port lists, ranges and protocols',
      `${rule(`"${ALICE}"`, '"tag:db:22,8000-8099"', 'tcp')}, ${rule('"*"', '"tag:db:*"', 'icmp')}`,
      'db',
      [
        `${ALICE_IPS} -> 100.64.0.10/32:22 100.64.0.10/32:8000-8099 fd7a:115c:a1e0::a/128:22 fd7a:115c:a1e0::a/128:8000-8099 proto 6`,
        `${ANY} -> 100.64.0.10/32:* fd7a:115c:a1e0::a/128:* proto 1,58`,
      ],
    ],
    [
      'destinations of one rule are merged, without repeats',
      rule(`"${ALICE}"`, '"tag:db:22", "100.64.0.10:22", "group:eng:22", "100.64.0.0/24:443"'),
      'db',
      [
        `${ALICE_IPS} -> 100.64.0.10/32:22 fd7a:115c:a1e0::a/128:22 100.64.0.10/32:443 fd7a:115c:a1e0::a/128:443`,
      ],
    ],
    [
      'autogroup:shared as source',
      rule('"autogroup:shared"', '"autogroup:member:22"'),
      'a2',
      ['100.64.0.40/32 -> 100.64.0.2/32:22'],
    ],
    [
      'autogroup:shared as destination',
      rule('"*"', '"autogroup:shared:80"'),
      'shared',
      [`${ANY} -> 100.64.0.40/32:80`],
    ],
    ['a shared device is not a member', rule('"*"', '"autogroup:member:80"'), 'shared', []],
    ['"*" as destination', rule(`"${BOB}"`, '"*:443"'), 'shared', ['100.64.0.3/32 -> *:443']],
    ['a source nobody matches drops the rule', rule('"group:nobody"', '"*:*"'), 'a1', []],
    [
      'sources covered by a wider one are left out',
      rule(`"${ALICE}", "100.64.0.0/30", "*"`, '"tag:db:1"'),
      'db',
      [`${ANY} -> 100.64.0.10/32:1 fd7a:115c:a1e0::a/128:1`],
    ],
    ['autogroup:internet: not for a subnet router', rule(`"${BOB}"`, '"autogroup:internet:*"'), 'router', []],
  ])('%s', (_, acls, id, expected) => {
    const compiled = compileFor(parsePolicy(policy(acls)), CTX, DEVICES.find((d) => d.id === id)!);
    expect(show(compiled)).toEqual(expected);
  });

  it('autogroup:internet on an exit node', () => {
    const exit = DEVICES.find((d) => d.id === 'exit')!;
    const rules = compileFor(parsePolicy(policy(rule(`"${BOB}"`, '"autogroup:internet:*"'))), CTX, exit);
    expect(rules).toHaveLength(1);
    expect(rules[0]!.srcIps).toEqual(['100.64.0.3/32']);
    expect(rules[0]!.dstPorts.map((d) => d.ip)).toEqual(INTERNET_PREFIXES.map(formatPrefix));
  });

  it('without a policy: the network’s devices reach each other, shared devices are left out', () => {
    const compiler = new PolicyCompiler(null, CTX);
    const network = '100.64.0.1/32 100.64.0.2/32 100.64.0.3/32 100.64.0.10/32 100.64.0.20/32 100.64.0.30/32';
    expect(show(compiler.compileFor(DEVICES[0]!))).toEqual([
      `${network} fd7a:115c:a1e0::1/128 fd7a:115c:a1e0::a/128 -> *:*`,
    ]);
    expect(compiler.compileFor(DEVICES.find((d) => d.id === 'shared')!)).toEqual([]);
  });

  it('filters share (frozen) source lists instead of copying them per device', () => {
    const compiler = new PolicyCompiler(
      parsePolicy(policy(rule('"autogroup:member"', '"autogroup:member:22"'))),
      CTX,
    );
    const [a] = compiler.compileFor(DEVICES[0]!);
    const [b] = compiler.compileFor(DEVICES[2]!);
    expect(a!.srcIps).toBe(b!.srcIps);
    expect(Object.isFrozen(a!.srcIps)).toBe(true);
  });

  it('refuses a device outside the context, and an inconsistent context (see model.test.ts)', () => {
    const compiler = new PolicyCompiler(null, CTX);
    expect(() => compiler.compileFor(device('ghost', ALICE, ['100.64.9.9']))).toThrow(
      'device "ghost" is not in the context',
    );
    const twin = device('twin', BOB, ['100.64.0.1']);
    expect(() => new PolicyCompiler(null, { ...CTX, devices: [...DEVICES, twin] })).toThrow(
      'device "twin" and device "a1" both have address 100.64.0.1',
    );
  });
});
