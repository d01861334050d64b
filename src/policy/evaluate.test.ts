import { describe, expect, it } from 'vitest';
import { allows } from './evaluate.js';
import type { PolicyContext, PolicyDevice } from './model.js';
import { parsePolicy } from './parse.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';

function device(id: string, user: string, ips: string[], more: Partial<PolicyDevice> = {}): PolicyDevice {
  return { id, user, network: more.shared ? 'other' : 'net', tags: [], ips, shared: false, ...more };
}

const devices = {
  aliceLaptop: device('alice-laptop', ALICE, ['100.64.0.1', 'fd7a:115c:a1e0::1']),
  alicePhone: device('alice-phone', ALICE, ['100.64.0.2', 'fd7a:115c:a1e0::2']),
  bobLaptop: device('bob-laptop', BOB, ['100.64.0.3', 'fd7a:115c:a1e0::3']),
  carolLaptop: device('carol-laptop', CAROL, ['100.64.0.4']),
  db: device('db', BOB, ['100.64.0.10', 'fd7a:115c:a1e0::a'], { tags: ['tag:db'] }),
  router: device('router', BOB, ['100.64.0.20'], { tags: ['tag:router'], routes: ['192.168.1.0/24'] }),
  exit: device('exit', BOB, ['100.64.0.30'], { tags: ['tag:exit'], routes: ['0.0.0.0/0', '::/0'] }),
  daveShared: device('dave', 'dave@other.org', ['100.64.0.40'], { shared: true }),
  // Owned by someone who is no longer a member.
  eveLeft: device('eve', 'eve@example.com', ['100.64.0.50']),
};

const ctx: PolicyContext = { network: 'net', members: [ALICE, BOB, CAROL], devices: Object.values(devices) };

const policy = parsePolicy(`{
  "groups": {"group:eng": ["${ALICE}", "${BOB}"]},
  "hosts": {"office": "192.168.1.0/24", "laptop": "100.64.0.1"},
  "tagOwners": {"tag:db": ["group:eng"], "tag:router": [], "tag:exit": []},
  "acls": [
    {"action": "accept", "src": ["group:eng"], "dst": ["tag:db:5432"]},
    {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]},
    {"action": "accept", "src": ["${ALICE}"], "dst": ["office:80,443"]},
    {"action": "accept", "src": ["autogroup:shared"], "proto": "tcp", "dst": ["tag:db:22"]},
    {"action": "accept", "src": ["${CAROL}"], "dst": ["autogroup:internet:*"]},
    {"action": "accept", "src": ["tag:db"], "proto": "udp", "dst": ["100.64.0.0/30:9000-9001"]},
    {"action": "accept", "src": ["*"], "proto": "icmp", "dst": ["tag:router:*"]},
    {"action": "accept", "src": ["laptop"], "proto": "47", "dst": ["${BOB}:*"]},
  ],
}`);

type Src = keyof typeof devices;
const TCP = 6;
const UDP = 17;
const ICMP = 1;
const GRE = 47;

describe('allows', () => {
  it.each<[string, Src, string, number, number, boolean]>([
    ['groups reach a tag', 'aliceLaptop', '100.64.0.10', 5432, TCP, true],
    ['at either of its addresses', 'bobLaptop', 'fd7a:115c:a1e0::a', 5432, UDP, true],
    ['only on the ports given', 'aliceLaptop', '100.64.0.10', 22, TCP, false],
    ['a non-member of the group does not', 'carolLaptop', '100.64.0.10', 5432, TCP, false],
    ['ICMP ignores ports', 'aliceLaptop', '100.64.0.10', 0, ICMP, true],
    ['other port-less protocols need "*"', 'aliceLaptop', '100.64.0.10', 0, GRE, false],
    ['autogroup:self: own devices', 'aliceLaptop', '100.64.0.2', 3389, TCP, true],
    ['autogroup:self: own devices, IPv6', 'alicePhone', 'fd7a:115c:a1e0::1', 22, UDP, true],
    ["autogroup:self: not another user's", 'aliceLaptop', '100.64.0.3', 22, TCP, false],
    ['autogroup:self: not from a tagged device', 'db', '100.64.0.10', 22, TCP, false],
    ['a former member has no identity', 'eveLeft', '100.64.0.50', 22, TCP, false],
    ['a host CIDR reached through its router', 'aliceLaptop', '192.168.1.20', 443, TCP, true],
    ['... on its ports only', 'aliceLaptop', '192.168.1.20', 22, TCP, false],
    ['... by whom the rule names only', 'bobLaptop', '192.168.1.20', 443, TCP, false],
    ['a shared device, via autogroup:shared', 'daveShared', '100.64.0.10', 22, TCP, true],
    ['... on the protocol given', 'daveShared', '100.64.0.10', 22, UDP, false],
    ['a shared device is not a member', 'daveShared', '100.64.0.10', 5432, TCP, false],
    ['autogroup:internet: public addresses', 'carolLaptop', '8.8.8.8', 443, TCP, true],
    ['autogroup:internet: IPv6 too', 'carolLaptop', '2606:4700::1111', 53, UDP, true],
    ['autogroup:internet: not the exit LAN', 'carolLaptop', '192.168.1.5', 443, TCP, false],
    ['autogroup:internet: not the mesh', 'carolLaptop', '100.64.0.1', 443, TCP, false],
    ['autogroup:internet: only for whom it is granted', 'aliceLaptop', '8.8.8.8', 443, TCP, false],
    ['a CIDR selects the devices in it', 'db', '100.64.0.1', 9000, UDP, true],
    ['... at all their addresses', 'db', 'fd7a:115c:a1e0::3', 9001, UDP, true],
    ['... and no others', 'db', '100.64.0.4', 9000, UDP, false],
    ['"*" includes shared devices', 'daveShared', '100.64.0.20', 0, ICMP, true],
    ['... on the protocol given', 'daveShared', '100.64.0.20', 80, TCP, false],
    ['a host naming a device selects that device', 'aliceLaptop', '100.64.0.3', 0, GRE, true],
    ['... but not from its owner’s other devices', 'alicePhone', '100.64.0.3', 0, GRE, false],
    ['a user names untagged devices, not their tagged ones', 'aliceLaptop', '100.64.0.10', 0, GRE, false],
    [
      'device selectors do not cover what their devices route',
      'aliceLaptop',
      '100.64.0.99',
      5432,
      TCP,
      false,
    ],
  ])('%s', (_, src, ip, port, proto, expected) => {
    expect(allows(policy, ctx, devices[src], { ip, port, proto })).toBe(expected);
  });
});

describe('allows without a policy', () => {
  it.each<[string, Src, string, boolean]>([
    ['between the network’s devices', 'aliceLaptop', '100.64.0.3', true],
    ['including tagged ones', 'db', 'fd7a:115c:a1e0::1', true],
    ['and what they route', 'carolLaptop', '192.168.1.9', true],
    ['and exit nodes', 'carolLaptop', '8.8.8.8', true],
    ['not from a shared device', 'daveShared', '100.64.0.1', false],
    ['not to a shared device', 'aliceLaptop', '100.64.0.40', false],
    ['an address nobody holds goes to the exit node', 'aliceLaptop', '100.64.0.99', true],
  ])('%s', (_, src, ip, expected) => {
    expect(allows(null, ctx, devices[src], { ip, port: 1, proto: TCP })).toBe(expected);
  });
});
