/**
 * A server recompiles a whole network when its policy changes, so compiling one device must not
 * cost a pass over the network: 10,000 devices must compile in seconds, not the minutes that
 * O(devices²) work would take.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { PolicyCompiler } from './compile.js';
import type { PolicyContext, PolicyDevice } from './model.js';
import { parsePolicy } from './parse.js';

const DEVICES = 10_000;

/** 2,400 users with three devices each, tagged servers, subnet routers, exit nodes, shared devices. */
function largeNetwork(size: number): PolicyContext {
  const rng = new Rng(3);
  const users = Array.from({ length: Math.ceil((size * 0.72) / 3) }, (_, i) => `user${i}@example.com`);
  const devices: PolicyDevice[] = [];
  for (let i = 0; devices.length < size; i++) {
    const n = devices.length + 1;
    const ips = [`100.${64 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`, `fd7a:115c:a1e0::${n.toString(16)}`];
    const base = { id: `d${n}`, network: 'net', ips, shared: false, tags: [] as string[] };
    if (i < users.length * 3) {
      devices.push({ ...base, user: users[i % users.length]! });
    } else if (rng.chance(0.02)) {
      devices.push({ ...base, user: 'dave@other.org', network: 'other', shared: true });
    } else if (rng.chance(0.1)) {
      const route = rng.chance(0.05) ? ['0.0.0.0/0', '::/0'] : [`10.${rng.int(256)}.${rng.int(256)}.0/24`];
      devices.push({ ...base, user: users[0]!, tags: ['tag:router'], routes: route });
    } else {
      devices.push({ ...base, user: users[0]!, tags: [['tag:web', 'tag:db', 'tag:ci'][rng.int(3)]!] });
    }
  }
  return { network: 'net', members: users, devices };
}

const LARGE_POLICY = parsePolicy(`{
  "groups": {
    "group:eng": [${Array.from({ length: 1000 }, (_, i) => `"user${i}@example.com"`).join(', ')}],
    "group:ops": [${Array.from({ length: 50 }, (_, i) => `"user${2000 + i}@example.com"`).join(', ')}],
  },
  "hosts": {"lab": "10.20.0.0/16", "build": "100.64.1.2"},
  "tagOwners": {"tag:web": ["group:ops"], "tag:db": ["group:ops"], "tag:ci": ["group:ops"], "tag:router": []},
  "acls": [
    {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]},
    {"action": "accept", "src": ["group:eng"], "dst": ["tag:web:80,443", "tag:db:5432", "lab:*", "build:22"]},
    {"action": "accept", "src": ["group:ops"], "dst": ["*:22"]},
    {"action": "accept", "src": ["tag:web", "tag:ci"], "proto": "tcp", "dst": ["tag:db:5432"]},
    {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:internet:*", "tag:web:443"]},
    {"action": "accept", "src": ["group:eng"], "dst": ["10.0.0.0/8:*"]},
    {"action": "accept", "src": ["autogroup:shared"], "dst": ["tag:web:443"]},
    {"action": "accept", "src": ["tag:ci"], "dst": ["autogroup:member:9100"]},
    {"action": "accept", "src": ["*"], "proto": "icmp", "dst": ["*:*"]},
  ],
}`);

describe('PolicyCompiler at scale', () => {
  it(`compiles every device of a ${DEVICES}-device network`, () => {
    const ctx = largeNetwork(DEVICES);
    const started = performance.now();
    const compiler = new PolicyCompiler(LARGE_POLICY, ctx);
    let rules = 0;
    for (const device of ctx.devices) rules += compiler.compileFor(device).length;
    const seconds = (performance.now() - started) / 1000;
    expect(rules).toBeGreaterThan(DEVICES);
    // Typically well under a second; O(devices²) work would take minutes.
    expect(seconds).toBeLessThan(15);
  });
});
