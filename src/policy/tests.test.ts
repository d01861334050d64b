import { describe, expect, it } from 'vitest';
import type { PolicyContext } from './model.js';
import { parsePolicy } from './parse.js';
import { runPolicyTests } from './tests.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

// No devices at all: tests are about identities, so they run the same on an empty network.
const EMPTY: PolicyContext = { network: 'net', members: [], devices: [] };

function run(acls: string, tests: string, ctx = EMPTY) {
  return runPolicyTests(
    parsePolicy(`{
      "groups": {"group:eng": ["${ALICE}", "${BOB}"], "group:empty": []},
      "hosts": {"printer": "192.168.1.20", "office": "192.168.1.0/24"},
      "tagOwners": {"tag:db": [], "tag:web": []},
      "acls": [${acls}],
      "tests": [${tests}],
    }`),
    ctx,
  );
}

const ENG_TO_DB = '{"action": "accept", "src": ["group:eng"], "dst": ["tag:db:5432"]}';

describe('runPolicyTests', () => {
  it('passes when every expectation holds', () => {
    expect(
      run(
        `${ENG_TO_DB}, {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]},
         {"action": "accept", "src": ["tag:web"], "proto": "udp", "dst": ["printer:9100"]}`,
        `{"src": "${ALICE}", "accept": ["tag:db:5432", "${ALICE}:22"], "deny": ["tag:db:22", "${BOB}:22"]},
         {"src": "group:eng", "accept": ["tag:db:5432"]},
         // office, a /24, is tried at its first address, which is not the printer's.
         {"src": "tag:web", "proto": "udp", "accept": ["printer:9100"], "deny": ["printer:9101", "office:9100"]},
         {"src": "tag:web", "deny": ["printer:9100"]},
         {"src": "printer", "deny": ["tag:db:5432"]},
         {"src": "carol@example.com", "deny": ["tag:db:5432"]}`,
      ),
    ).toEqual({ ok: true });
  });

  it('names each failing case', () => {
    const result = run(
      `${ENG_TO_DB}, {"action": "accept", "src": ["${ALICE}"], "dst": ["tag:web:80"]}`,
      `{"src": "${ALICE}", "accept": ["tag:db:5432"]},
       {"src": "${BOB}", "accept": ["tag:web:80"], "deny": ["tag:db:22"]},
       {"src": "${ALICE}", "deny": ["tag:db:5432", "tag:web:443"]},
       {"src": "group:eng", "accept": ["tag:web:80"]},
       {"src": "tag:db", "proto": "icmp", "deny": ["tag:web:0"]},
       {"src": "${BOB}", "accept": ["group:eng:22"]}`,
    );
    expect(result).toEqual({
      ok: false,
      failures: [
        `tests[1]: ${BOB} -> tag:web:80 should be accepted but is denied`,
        `tests[2]: ${ALICE} -> tag:db:5432 should be denied but is accepted`,
        `tests[3]: group:eng (${BOB}) -> tag:web:80 should be accepted but is denied`,
        `tests[5]: ${BOB} -> group:eng:22 (${ALICE}) should be accepted but is denied`,
        `tests[5]: ${BOB} -> group:eng:22 (${BOB}) should be accepted but is denied`,
      ],
    });
  });

  it('checks every protocol of a test, at every address of the destination', () => {
    const result = run(
      '{"action": "accept", "src": ["tag:web"], "dst": ["100.64.0.0/10:80"]}',
      `{"src": "tag:web", "accept": ["tag:db:80"]},
       {"src": "tag:web", "proto": "icmp", "deny": ["tag:db:0"]}`,
    );
    // The IPv4 range selects the devices in it, so tag:db is reached at its IPv6 address too; and
    // ICMP passes wherever any port does ("icmp" is ICMP and ICMPv6).
    expect(result).toEqual({
      ok: false,
      failures: [
        'tests[1]: tag:web -> tag:db:0 should be denied but is accepted over icmp',
        'tests[1]: tag:web -> tag:db:0 should be denied but is accepted over ipv6-icmp',
      ],
    });
  });

  it('treats an empty group as nobody, and uses real devices holding a tested address', () => {
    const ctx: PolicyContext = {
      network: 'net',
      members: [ALICE],
      devices: [{ id: 'p', user: ALICE, network: 'net', tags: [], ips: ['192.168.1.20'], shared: false }],
    };
    // The printer's address is held by one of alice's devices, so the test from it runs as alice.
    expect(
      run(
        `{"action": "accept", "src": ["${ALICE}"], "dst": ["tag:db:5432"]}`,
        `{"src": "printer", "accept": ["tag:db:5432"]}, {"src": "group:empty", "accept": ["tag:db:1"]}`,
        ctx,
      ),
    ).toEqual({ ok: true });
  });

  it('gives hypothetical devices addresses no real device has', () => {
    const ctx: PolicyContext = {
      network: 'net',
      members: [BOB],
      devices: [{ id: 'b', user: BOB, network: 'net', tags: [], ips: ['100.127.255.254'], shared: false }],
    };
    // A rule for bob's real device must not leak to alice's hypothetical one.
    expect(
      run(
        '{"action": "accept", "src": ["100.127.255.254"], "dst": ["tag:db:5432"]}',
        `{"src": "${ALICE}", "deny": ["tag:db:5432"]}`,
        ctx,
      ),
    ).toEqual({ ok: true });
  });
});
