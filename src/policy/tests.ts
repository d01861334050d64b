/**
 * Runs a policy's `tests` section, so the server can refuse a policy edit that breaks what its
 * authors said must hold ("alice can reach tag:db:5432", "contractors cannot").
 *
 * Tests are about identities, not about the devices that happen to exist today: a test from
 * alice is run from a new, hypothetical device of alice's (a member device at an unused mesh
 * address), a test to tag:db goes to a hypothetical device tagged tag:db, and a group stands for
 * each of its members in turn. Addresses are used as they are, from the device holding them if
 * there is one. A destination device is tried at both its addresses (IPv4 and IPv6), and the
 * expectation must hold at each, over every protocol of the test (TCP by default).
 */
import { formatAddr } from '../packet/ip-text.js';
import { allows } from './evaluate.js';
import { type PolicyContext, type PolicyDevice, readContext } from './model.js';
import { formatPrefix, parseAddress } from './prefix.js';
import { protocolName, TCP } from './protocol.js';
import type { Policy, Selector } from './types.js';

export type PolicyTestResult = { ok: true } | { ok: false; failures: string[] };

/** One identity a test stands for, as a device sending or receiving. */
interface Party {
  /** How messages name it when it is not the selector itself (a group's member). */
  readonly member?: string;
  readonly device: PolicyDevice;
  /** The addresses to try it at, as a destination. */
  readonly ips: readonly string[];
}

/** Runs the policy's tests against the network; every failing case is named. */
export function runPolicyTests(policy: Policy, ctx: PolicyContext): PolicyTestResult {
  const used = new Set(readContext(ctx).flatMap((d) => d.ipTexts));
  const failures: string[] = [];
  policy.tests.forEach((test, i) => {
    const world = new TestWorld(ctx, new Set(used));
    const sources = world.parties(policy, test.src);
    const cases = [
      ...test.accept.map((target) => ({ target, expected: true })),
      ...test.deny.map((target) => ({ target, expected: false })),
    ].map((c) => ({ ...c, parties: world.parties(policy, c.target.target) }));
    const members = world.members();
    const protoNote = (proto: number) =>
      test.protocols.length === 1 && test.protocols[0] === TCP ? '' : ` over ${protocolName(proto)}`;

    for (const src of sources) {
      for (const { target, expected, parties } of cases) {
        for (const dst of parties) {
          // Beyond the sender, `allows` only asks who holds the destination address, so that
          // device is all of the network a case needs (which keeps tests fast on large networks).
          const caseCtx: PolicyContext = { network: ctx.network, members, devices: [dst.device] };
          for (const proto of test.protocols) {
            const holds = dst.ips.every(
              (ip) => allows(policy, caseCtx, src.device, { ip, port: target.port, proto }) === expected,
            );
            if (holds) continue;
            const from = src.member === undefined ? test.src.text : `${test.src.text} (${src.member})`;
            const to = dst.member === undefined ? target.text : `${target.text} (${dst.member})`;
            const outcome = expected ? 'accepted but is denied' : 'denied but is accepted';
            failures.push(`tests[${i}]: ${from} -> ${to} should be ${outcome}${protoNote(proto)}`);
          }
        }
      }
    }
  });
  return failures.length === 0 ? { ok: true } : { ok: false, failures };
}

// Hypothetical devices take mesh addresses from the top of the ranges down, skipping used ones.
const HYPOTHETICAL_V4_TOP = ((100 << 24) | (127 << 16) | (255 << 8) | 254) >>> 0; // 100.127.255.254
const HYPOTHETICAL_V6_PREFIX = 'fd7a:115c:a1e0:ffff::';

/** The hypothetical devices of one test, and the members they make. */
class TestWorld {
  private readonly added: PolicyDevice[] = [];
  private readonly addedMembers = new Set<string>();
  private next4 = HYPOTHETICAL_V4_TOP;
  private next6 = 1;

  /** `used`: the addresses taken so far, which this world adds to. */
  constructor(
    private readonly ctx: PolicyContext,
    private readonly used: Set<string>,
  ) {}

  parties(policy: Policy, selector: Selector): Party[] {
    switch (selector.kind) {
      case 'user':
        return [this.userDevice(selector.login)];
      case 'group':
        return (policy.groups.get(selector.name) ?? []).map((login) => ({
          ...this.userDevice(login),
          member: login,
        }));
      case 'tag': {
        const device = this.add({ user: '', tags: [selector.name], ips: [this.address(4), this.address(6)] });
        return [{ device, ips: device.ips }];
      }
      case 'address': {
        // A host or CIDR is tried at its first address.
        const ip = formatAddr(selector.prefix.addr);
        const key = formatPrefix(parseAddress(ip));
        const holder = [...this.ctx.devices, ...this.added].find((d) =>
          d.ips.some((a) => formatPrefix(parseAddress(a)) === key),
        );
        this.used.add(key);
        return [{ device: holder ?? this.add({ user: '', tags: [], ips: [ip] }), ips: [ip] }];
      }
      default:
        throw new Error(`${selector.text} cannot be a test's source or destination`);
    }
  }

  /** The network's members, and the owners of hypothetical user devices. */
  members(): string[] {
    return [...this.ctx.members, ...this.addedMembers];
  }

  private userDevice(login: string): Party {
    this.addedMembers.add(login);
    const device = this.add({ user: login, tags: [], ips: [this.address(4), this.address(6)] });
    return { device, ips: device.ips };
  }

  private add(fields: Pick<PolicyDevice, 'user' | 'tags' | 'ips'>): PolicyDevice {
    const device: PolicyDevice = {
      id: `test-device-${this.added.length + 1}`,
      network: this.ctx.network,
      shared: false,
      ...fields,
    };
    this.added.push(device);
    return device;
  }

  /** An unused mesh address of the family. */
  private address(family: 4 | 6): string {
    for (;;) {
      const ip =
        family === 4
          ? [24, 16, 8, 0].map((shift) => (this.next4 >>> shift) & 0xff).join('.')
          : `${HYPOTHETICAL_V6_PREFIX}${(this.next6++).toString(16)}`;
      if (family === 4) this.next4--;
      const key = formatPrefix(parseAddress(ip));
      if (!this.used.has(key)) {
        this.used.add(key);
        return ip;
      }
    }
  }
}
