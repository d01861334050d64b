import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix } from './prefix.js';
import { type PolicyNames, parseDstEntry, parsePorts, parseSelector, parseTestTarget } from './selectors.js';

const names: PolicyNames = {
  hosts: new Map([
    ['db', parsePrefix('100.64.0.9')],
    ['office', parsePrefix('192.168.1.0/24')],
  ]),
  groups: new Set(['group:eng']),
  tags: new Set(['tag:db']),
};

/** A selector as kind plus what it carries, for compact expectations. */
function show(text: string, role: Parameters<typeof parseSelector>[1] = 'dst'): string {
  const s = parseSelector(text, role, names);
  if (s.kind === 'user') return `user ${s.login}`;
  if (s.kind === 'group' || s.kind === 'tag') return `${s.kind} ${s.name}`;
  if (s.kind === 'address') return `address ${formatPrefix(s.prefix)}`;
  return s.kind;
}

describe('selectors', () => {
  it.each([
    ['*', 'any'],
    ['alice@example.com', 'user alice@example.com'],
    ['alice', 'user alice'],
    ['bob@github', 'user bob@github'],
    ['group:eng', 'group group:eng'],
    ['tag:db', 'tag tag:db'],
    ['db', 'address 100.64.0.9/32'],
    ['office', 'address 192.168.1.0/24'],
    ['10.0.0.0/8', 'address 10.0.0.0/8'],
    ['100.64.0.5', 'address 100.64.0.5/32'],
    ['fd7a:115c:a1e0::/48', 'address fd7a:115c:a1e0::/48'],
    ['autogroup:member', 'member'],
    ['autogroup:self', 'self'],
    ['autogroup:internet', 'internet'],
    ['autogroup:shared', 'shared'],
  ])('%s is %s', (text, expected) => {
    expect(show(text)).toBe(expected);
  });

  it.each([
    ['group:ops', 'dst', 'group:ops is not defined in groups'],
    ['tag:web', 'dst', 'tag:web is not defined in tagOwners'],
    ['autogroup:admin', 'dst', 'autogroup:admin is not a known autogroup'],
    ['autogroup:self', 'src', 'autogroup:self cannot be used in a src'],
    ['autogroup:internet', 'src', 'autogroup:internet cannot be used in a src'],
    ['*', 'tagOwner', '* cannot be used in tagOwners'],
    ['tag:db', 'tagOwner', 'tag:db cannot be used in tagOwners'],
    ['db', 'groupMember', 'db cannot be used in groups'],
    ['autogroup:member', 'testSrc', 'autogroup:member cannot be used in a test src'],
    ['role:admin', 'dst', '"role:admin" is not a known kind of selector'],
    ['10.0.0.1/8', 'dst', '"10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)'],
    ['1.2.3', 'dst', '"1.2.3" is not a valid IP address or CIDR'],
    ['alice smith', 'dst', '"alice smith" is not a user, host, IP or CIDR'],
    ['', 'dst', '"" is not a user, host, IP or CIDR'],
  ] as const)('%s in %s: %s', (text, role, message) => {
    expect(() => parseSelector(text, role, names)).toThrow(message);
  });
});

describe('destinations and ports', () => {
  it.each([
    ['tag:db:5432', 'tag:db', [[5432, 5432]]],
    ['*:*', '*', [[0, 65535]]],
    [
      'alice@example.com:22,80-89',
      'alice@example.com',
      [
        [22, 22],
        [80, 89],
      ],
    ],
    ['fd7a:115c:a1e0::5:22', 'fd7a:115c:a1e0::5', [[22, 22]]],
    ['fd7a:115c:a1e0::/48:*', 'fd7a:115c:a1e0::/48', [[0, 65535]]],
    ['autogroup:internet:443', 'autogroup:internet', [[443, 443]]],
  ])('%s', (text, target, ports) => {
    const entry = parseDstEntry(text, names);
    expect(entry.target.text).toBe(target);
    expect(entry.ports.map((r) => [r.first, r.last])).toEqual(ports);
  });

  it.each([
    ['80-', 'port range "80-" is not valid'],
    ['-80', 'port range "-80" is not valid'],
    ['90-80', 'port range "90-80" is not valid'],
    ['65536', 'port "65536" is not valid'],
    ['080', 'port "080" is not valid'],
    ['22,,80', 'port "" is not valid'],
    ['', 'port "" is not valid'],
    ['http', 'port "http" is not valid'],
    ['*,22', 'port "*" is not valid'],
  ])('refuses ports %j', (text, message) => {
    expect(() => parsePorts(text)).toThrow(message);
  });

  it('accepts the extremes', () => {
    expect(parsePorts('0,65535')).toEqual([
      { first: 0, last: 0 },
      { first: 65535, last: 65535 },
    ]);
  });

  it('needs ports on a destination', () => {
    expect(() => parseDstEntry('tag:db', names)).toThrow(
      '"tag:db" needs ports, as in "tag:db:*" or "tag:db:22"',
    );
    expect(() => parseDstEntry('fd7a::5', names)).toThrow('"fd7a::5" needs ports');
    expect(() => parseDstEntry('db', names)).toThrow('"db" needs ports, as in "db:*" or "db:22"');
  });

  it('reads test targets, with exactly one port', () => {
    expect(parseTestTarget('tag:db:5432', names)).toMatchObject({ target: { kind: 'tag' }, port: 5432 });
    expect(() => parseTestTarget('tag:db:*', names)).toThrow('"tag:db:*" needs one port');
    expect(() => parseTestTarget('autogroup:internet:443', names)).toThrow(
      'cannot be used in a test destination',
    );
  });
});
