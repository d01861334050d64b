import { describe, expect, it } from 'vitest';
import type { NativeRule } from '../native/index.js';
import { matchRule, type RuleFlow, ruleText } from './rule-match.js';

/** Rules as `ip rule` would list them, without a kernel: the walk of fib_rules_lookup in TS. */

const rule = (priority: number, fields: Partial<NativeRule> = {}): NativeRule => ({
  priority,
  action: 1,
  table: 254,
  flags: 0,
  tos: 0,
  srcLen: 0,
  dstLen: 0,
  ...fields,
});

/** A Burrow device's rules (linux-routing.ts), with a full tunnel's 5260 and 5265. */
const BURROW = [
  rule(0, { table: 255 }),
  rule(5210, { fwmark: 0x80000, fwmask: 0xff0000, table: 254 }),
  rule(5230, { fwmark: 0x80000, fwmask: 0xff0000, table: 253 }),
  rule(5250, { fwmark: 0x80000, fwmask: 0xff0000, action: 7, table: 0 }),
  rule(5260, { table: 52, suppressPrefixLength: 0 }),
  rule(5265, { table: 254, suppressPrefixLength: 0 }),
  rule(5270, { table: 52 }),
  rule(32766, { table: 254 }),
  rule(32767, { table: 253 }),
];

const flow = (fields: Partial<RuleFlow> = {}): RuleFlow => ({
  family: 4,
  dst: '100.64.0.5',
  mark: 0,
  uid: 0,
  ipProto: 0,
  sport: 0,
  dport: 0,
  ...fields,
});

const priority = (rules: NativeRule[], f: RuleFlow, answer: Parameters<typeof matchRule>[2]) =>
  matchRule(rules, f, answer)?.priority;

describe('matchRule', () => {
  it("names 5260 for a peer's prefix in a full tunnel, and 5270 for its default route (suppressed at 5260)", () => {
    expect(priority(BURROW, flow(), { table: 52, prefixLength: 10 })).toBe(5260);
    expect(priority(BURROW, flow({ dst: '8.8.8.8' }), { table: 52, prefixLength: 0 })).toBe(5270);
    // main's default route is suppressed at 5265: a LAN route of main is not.
    expect(priority(BURROW, flow({ dst: '192.168.5.7' }), { table: 254, prefixLength: 24 })).toBe(5265);
    expect(priority(BURROW, flow({ dst: '1.1.1.1' }), { table: 254, prefixLength: 0 })).toBe(32766);
  });

  it("names the bypass rules for burrowd's mark, under its mask", () => {
    expect(priority(BURROW, flow({ mark: 0x80000 }), { table: 254, prefixLength: 0 })).toBe(5210);
    expect(priority(BURROW, flow({ mark: 0x80123 }), { table: 254, prefixLength: 0 })).toBe(5210);
    expect(priority(BURROW, flow({ mark: 0x80000 }), { error: 'EHOSTUNREACH' })).toBe(5250);
    expect(
      priority(BURROW, flow({ mark: 0x80000, family: 6, dst: 'fd7a::5' }), { error: 'ENETUNREACH' }),
    ).toBe(5250);
    // Another mark is not burrowd's: it goes the way of everything else.
    expect(priority(BURROW, flow({ mark: 0x40000 }), { table: 52, prefixLength: 10 })).toBe(5260);
  });

  it('names no rule for a refusal that no rule gives, or one a matching action rule contradicts', () => {
    expect(priority(BURROW, flow(), { error: 'ENETUNREACH' })).toBeUndefined();
    expect(priority(BURROW, flow({ mark: 0x80000 }), { error: 'EACCES' })).toBeUndefined();
  });

  it('follows not, goto, source and destination prefixes, uid ranges, protocol and ports', () => {
    const rules = [
      rule(100, { flags: 2, srcLen: 8, src: '10.0.0.0', table: 10 }), // not from 10/8
      rule(200, { action: 2, goto: 300, table: 0 }),
      rule(250, { table: 11 }), // jumped over
      rule(300, { dstLen: 16, dst: '9.9.0.0', uidStart: 1000, uidEnd: 1999, table: 12 }),
      rule(400, { ipProto: 6, dportStart: 443, dportEnd: 443, table: 13 }),
      rule(500, { iif: 'eth0', table: 14 }), // never for a locally sent packet
      rule(600, { oif: 'eth0', table: 14 }),
      rule(700, { table: 14 }),
    ];
    expect(priority(rules, flow({ dst: '9.9.1.1' }), { table: 10 })).toBe(100);
    expect(priority(rules, flow({ src: '10.1.1.1', dst: '9.9.1.1' }), { table: 10 })).toBeUndefined();
    expect(priority(rules, flow({ src: '10.1.1.1', dst: '9.9.1.1' }), { table: 11 })).toBeUndefined();
    expect(priority(rules, flow({ src: '10.1.1.1', dst: '9.9.1.1', uid: 1500 }), { table: 12 })).toBe(300);
    expect(
      priority(rules, flow({ src: '10.1.1.1', dst: '9.9.1.1', uid: 2000 }), { table: 12 }),
    ).toBeUndefined();
    expect(priority(rules, flow({ src: '10.1.1.1', ipProto: 6, dport: 443 }), { table: 13 })).toBe(400);
    expect(
      priority(rules, flow({ src: '10.1.1.1', ipProto: 17, dport: 443 }), { table: 13 }),
    ).toBeUndefined();
    expect(priority(rules, flow({ src: '10.1.1.1' }), { table: 14 })).toBe(700);
  });

  it('writes rules as ip rule show does', () => {
    expect(BURROW.map(ruleText)).toEqual([
      '0:\tfrom all lookup local',
      '5210:\tfrom all fwmark 0x80000/0xff0000 lookup main',
      '5230:\tfrom all fwmark 0x80000/0xff0000 lookup default',
      '5250:\tfrom all fwmark 0x80000/0xff0000 unreachable',
      '5260:\tfrom all lookup 52 suppress_prefixlength 0',
      '5265:\tfrom all lookup main suppress_prefixlength 0',
      '5270:\tfrom all lookup 52',
      '32766:\tfrom all lookup main',
      '32767:\tfrom all lookup default',
    ]);
    expect(ruleText(rule(100, { flags: 2, srcLen: 8, src: '10.0.0.0', fwmark: 1, table: 10 }))).toBe(
      '100:\tnot from 10.0.0.0/8 fwmark 0x1 lookup 10',
    );
  });
});
