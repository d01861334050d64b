import { describe, expect, it } from 'vitest';
import type { PolicyContext, PolicyDevice } from './model.js';
import { autoApprovedRoutes, mayApplyTag } from './owners.js';
import { parsePolicy } from './parse.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

const policy = parsePolicy(
  `{
  "groups": {"group:sre": ["${BOB}"]},
  "tagOwners": {
    "tag:db": ["group:sre"],
    "tag:web": ["autogroup:member"],
    "tag:ci": ["${ALICE}"],
    "tag:locked": [],
    "tag:router": [],
    "tag:exit": [],
  },
  "autoApprovers": {
    "routes": {"10.0.0.0/8": ["tag:router"], "192.168.1.0/24": ["group:sre"]},
    "exitNode": ["tag:exit", "${ALICE}"],
  },
  "acls": [],
}`,
);

function device(user: string, more: Partial<PolicyDevice> = {}): PolicyDevice {
  return { id: 'd', user, network: more.shared ? 'other' : 'net', tags: [], ips: [], shared: false, ...more };
}

const ctx: PolicyContext = { network: 'net', members: [ALICE, BOB], devices: [] };

describe('mayApplyTag', () => {
  it.each([
    [BOB, 'tag:db', true],
    [ALICE, 'tag:db', false],
    [ALICE, 'tag:web', true],
    ['carol@example.com', 'tag:web', false],
    [ALICE, 'tag:ci', true],
    [BOB, 'tag:ci', false],
    [BOB, 'tag:locked', false],
    [BOB, 'tag:undefined', false],
  ])('%s may apply %s: %s', (login, tag, expected) => {
    expect(mayApplyTag(policy, ctx, login, tag)).toBe(expected);
  });

  it('lets nobody apply tags without a policy', () => {
    expect(mayApplyTag(null, ctx, ALICE, 'tag:web')).toBe(false);
  });
});

describe('autoApprovedRoutes', () => {
  const advertised = ['10.1.0.0/16', '10.0.0.0/8', '192.168.1.0/24', '192.168.0.0/16', '0.0.0.0/0', '::/0'];

  it.each<[string, PolicyDevice, string[]]>([
    [
      'a tagged router: its prefix and those inside',
      device(BOB, { tags: ['tag:router'] }),
      ['10.1.0.0/16', '10.0.0.0/8'],
    ],
    ['a group member', device(BOB), ['192.168.1.0/24']],
    ['an exit node by tag', device(BOB, { tags: ['tag:exit'] }), ['0.0.0.0/0', '::/0']],
    ['an exit node by user', device(ALICE), ['0.0.0.0/0', '::/0']],
    ['a tagged device is not its owner', device(ALICE, { tags: ['tag:db'] }), []],
    ['a shared device never', device(ALICE, { shared: true, tags: ['tag:router'] }), []],
  ])('%s', (_, d, expected) => {
    expect(autoApprovedRoutes(policy, ctx, d, advertised)).toEqual(expected);
  });

  it('approves nothing without a policy', () => {
    expect(autoApprovedRoutes(null, ctx, device(ALICE), advertised)).toEqual([]);
  });
});
