import { describe, expect, it } from 'vitest';
import { HujsonError } from './hujson.js';
import { PolicyError, parsePolicy } from './parse.js';
import { formatPrefix } from './prefix.js';

const EXAMPLE = `{
  // Who is who.
  "groups": {
    "group:eng": ["alice@example.com", "group:sre"],
    "group:sre": ["bob@example.com", "carol"],
  },
  "hosts": {
    "office": "192.168.1.0/24",
    "printer": "192.168.1.20",
  },
  "tagOwners": {
    "tag:db": ["group:sre"],
    "tag:web": ["autogroup:member"],
    "tag:router": [],
  },
  "autoApprovers": {
    "routes": {"192.168.0.0/16": ["tag:router", "group:sre"]},
    "exitNode": ["tag:router"],
  },
  "acls": [
    {"action": "accept", "src": ["group:eng"], "dst": ["tag:db:5432", "tag:web:80,443"]},
    {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*", "office:*"]},
    {"action": "accept", "src": ["*"], "proto": "icmp", "dst": ["*:*"]},
    {"action": "accept", "src": ["tag:web", "10.0.0.0/8"], "proto": "udp", "dst": ["printer:9100-9102"]},
  ],
  "tests": [
    {"src": "alice@example.com", "accept": ["tag:db:5432"], "deny": ["tag:db:22"]},
    {"src": "tag:web", "proto": "udp", "accept": ["printer:9100"]},
  ],
}`;

function policyError(text: string): string {
  try {
    parsePolicy(text);
  } catch (e) {
    if (e instanceof PolicyError) return e.message;
    throw e;
  }
  throw new Error('the policy was accepted');
}

describe('parsePolicy', () => {
  it('reads every section', () => {
    const policy = parsePolicy(EXAMPLE);
    expect(Object.fromEntries(policy.groups)).toEqual({
      'group:eng': ['alice@example.com', 'bob@example.com', 'carol'],
      'group:sre': ['bob@example.com', 'carol'],
    });
    expect([...policy.hosts].map(([name, p]) => `${name}=${formatPrefix(p)}`)).toEqual([
      'office=192.168.1.0/24',
      'printer=192.168.1.20/32',
    ]);
    expect([...policy.tagOwners].map(([tag, owners]) => [tag, owners.map((o) => o.text)])).toEqual([
      ['tag:db', ['group:sre']],
      ['tag:web', ['autogroup:member']],
      ['tag:router', []],
    ]);
    expect(
      policy.autoApprovers.routes.map((r) => [formatPrefix(r.prefix), r.owners.map((o) => o.kind)]),
    ).toEqual([['192.168.0.0/16', ['tag', 'group']]]);
    expect(policy.autoApprovers.exitNode.map((o) => o.text)).toEqual(['tag:router']);

    expect(policy.acls).toHaveLength(4);
    const [first, second, third, fourth] = policy.acls;
    expect(first!.src.map((s) => s.kind)).toEqual(['group']);
    expect(first!.dst.map((d) => [d.target.text, d.ports])).toEqual([
      ['tag:db', [{ first: 5432, last: 5432 }]],
      [
        'tag:web',
        [
          { first: 80, last: 80 },
          { first: 443, last: 443 },
        ],
      ],
    ]);
    expect(first!.protocols).toEqual([]);
    expect(second!.dst.map((d) => d.target.kind)).toEqual(['self', 'address']);
    expect(third!.protocols).toEqual([1, 58]);
    expect(fourth!.protocols).toEqual([17]);

    expect(policy.tests).toHaveLength(2);
    expect(policy.tests[0]!.protocols).toEqual([6]);
    expect(policy.tests[0]!.accept.map((t) => [t.text, t.target.kind, t.port])).toEqual([
      ['tag:db:5432', 'tag', 5432],
    ]);
    expect(policy.tests[1]!.protocols).toEqual([17]);
  });

  it('accepts a minimal policy and an empty rule list', () => {
    const policy = parsePolicy('{"acls": []}');
    expect(policy.acls).toEqual([]);
    expect(policy.tests).toEqual([]);
    expect(policy.autoApprovers).toEqual({ routes: [], exitNode: [] });
  });

  it('passes syntax errors through with their position', () => {
    expect(() => parsePolicy('{"acls": [}', 'net-7.hujson')).toThrow(HujsonError);
    expect(() => parsePolicy('{"acls": [}', 'net-7.hujson')).toThrow('net-7.hujson:1:11: unexpected "}"');
  });
});

describe('parsePolicy errors name the path', () => {
  const rule = (fields: string) =>
    `{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}, {${fields}}]}`;
  const good = '"action": "accept", "src": ["*"], "dst": ["*:*"]';

  it.each([
    ['[]', 'expected an object, got an array'],
    ['{}', 'acls: missing (write "acls": [] to deny all traffic)'],
    ['{"acls": [], "ssh": []}', 'ssh: unknown section (Burrow policies have acls, groups, hosts'],
    ['{"acls": {}}', 'acls: expected an array, got an object'],
    [rule('"action": "deny", "src": ["*"], "dst": ["*:*"]'), 'acls[1].action: must be "accept"'],
    [rule('"src": ["*"], "dst": ["*:*"]'), 'acls[1].action: must be "accept"'],
    [
      rule(`${good}, "users": ["*"]`),
      'acls[1].users: unknown field (use "src") (expected action, src, dst, proto)',
    ],
    [rule('"action": "accept", "dst": ["*:*"]'), 'acls[1].src: missing (expected an array)'],
    [rule('"action": "accept", "src": [], "dst": ["*:*"]'), 'acls[1].src: must not be empty'],
    [
      rule('"action": "accept", "src": [7], "dst": ["*:*"]'),
      'acls[1].src[0]: expected a string, got number 7',
    ],
    [
      rule('"action": "accept", "src": ["*"], "dst": ["*:*", "*:80-"]'),
      'acls[1].dst[1]: port range "80-" is not valid',
    ],
    [
      rule('"action": "accept", "src": ["group:x"], "dst": ["*:*"]'),
      'acls[1].src[0]: group:x is not defined in groups',
    ],
    [
      rule('"action": "accept", "src": ["*"], "dst": ["tag:db:22"]'),
      'acls[1].dst[0]: tag:db is not defined in tagOwners',
    ],
    [
      rule('"action": "accept", "src": ["autogroup:self"], "dst": ["*:*"]'),
      'acls[1].src[0]: autogroup:self cannot be used',
    ],
    [rule(`${good}, "proto": "tcpp"`), 'acls[1].proto: protocol "tcpp" is not known'],
    [rule(`${good}, "proto": 6`), 'acls[1].proto: expected a string, got number 6'],
    [
      rule('"action": "accept", "src": ["*"], "proto": "icmp", "dst": ["*:22"]'),
      'acls[1].dst[0]: proto "icmp" has no ports, so the ports must be "*"',
    ],
    ['{"acls": [], "groups": {"eng": []}}', 'groups.eng: group names look like "group:eng"'],
    [
      '{"acls": [], "groups": {"group:a": ["x y"]}}',
      'groups["group:a"][0]: "x y" is not a user, host, IP or CIDR',
    ],
    [
      '{"acls": [], "groups": {"group:a": ["group:b"]}}',
      'groups["group:a"][0]: group:b is not defined in groups',
    ],
    [
      '{"acls": [], "groups": {"group:a": ["u", "group:b"], "group:b": ["group:c"], "group:c": ["group:a"]}}',
      'groups["group:a"]: groups include each other in a cycle: group:a -> group:b -> group:c -> group:a',
    ],
    ['{"acls": [], "groups": {"group:a": ["group:a"]}}', 'cycle: group:a -> group:a'],
    ['{"acls": [], "hosts": {"db": "10.0.0.1/8"}}', 'hosts.db: "10.0.0.1/8" has host bits set'],
    ['{"acls": [], "hosts": {"123": "10.0.0.1"}}', 'hosts["123"]: host names are letters'],
    ['{"acls": [], "hosts": {"db": 5}}', 'hosts.db: expected a string, got number 5'],
    ['{"acls": [], "tagOwners": {"db": []}}', 'tagOwners.db: tag names look like "tag:server"'],
    ['{"acls": [], "tagOwners": {"tag:a": ["*"]}}', 'tagOwners["tag:a"][0]: * cannot be used in tagOwners'],
    [
      '{"acls": [], "autoApprovers": {"routes": {"10.0.0.1/8": []}}}',
      'autoApprovers.routes["10.0.0.1/8"]: "10.0.0.1/8" has host bits set',
    ],
    ['{"acls": [], "autoApprovers": {"exit": []}}', 'autoApprovers.exit: unknown field'],
    [
      '{"acls": [], "autoApprovers": {"exitNode": ["*"]}}',
      'autoApprovers.exitNode[0]: * cannot be used in autoApprovers',
    ],
    ['{"acls": [], "tests": [{"src": "alice"}]}', 'tests[0]: a test needs "accept" or "deny" targets'],
    ['{"acls": [], "tests": [{"accept": ["1.2.3.4:22"]}]}', 'tests[0].src: missing (expected a string)'],
    [
      '{"acls": [], "tests": [{"src": "alice", "deny": ["1.2.3.4:*"]}]}',
      'tests[0].deny[0]: "1.2.3.4:*" needs one port',
    ],
    [
      '{"acls": [], "tests": [{"src": "*", "deny": ["1.2.3.4:22"]}]}',
      'tests[0].src: * cannot be used in a test src',
    ],
    [
      '{"acls": [], "tests": [{"src": "a", "deny": ["1.2.3.4:22"], "when": 1}]}',
      'tests[0].when: unknown field',
    ],
  ])('%s', (text, message) => {
    expect(policyError(text)).toContain(message);
  });

  it('exposes the path on the error', () => {
    try {
      parsePolicy(rule('"action": "accept", "src": ["*"], "dst": ["*:80-"]'));
    } catch (e) {
      expect((e as PolicyError).path).toBe('acls[1].dst[0]');
    }
    expect.assertions(1);
  });
});
