import { describe, expect, it } from 'vitest';
import {
  attr,
  bytes,
  cacheinfo,
  concat,
  cstring,
  errorAnswer,
  FRA,
  message,
  NL,
  RTA,
  rtmsg,
  ruleHeader,
  u16,
  u32,
} from '../../test/support/netlink.js';
import { Rng } from '../../test/support/rng.js';
import { type NativeRouteAnswer, type NativeRule, native } from './index.js';

/**
 * The C parsers of route-codec.c fed mutated kernel answers: every buffer is either read into a
 * well-formed result or refused with EBADMSG; nothing is read past a length, and nothing crashes
 * (a crash takes the test process with it).
 */

const MESSAGES = 30_000;
const SEED = 0x6e6c6b31;
const SEQ = 77;
const AF_INET = 2;
const AF_INET6 = 10;
const V6 = Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0xfd : i === 15 ? 5 : 0));

function routeCorpus(): Uint8Array[] {
  const route = (fields: Parameters<typeof rtmsg>[0], ...attrs: Uint8Array[]) =>
    message(NL.RTM_NEWROUTE, 0, SEQ, concat(rtmsg(fields), ...attrs));
  return [
    route(
      { family: AF_INET, dstLen: 32, table: 254, type: 1 },
      attr(RTA.TABLE, u32(52)),
      attr(RTA.DST, bytes(100, 64, 0, 5)),
      attr(RTA.OIF, u32(5)),
      attr(RTA.PREFSRC, bytes(100, 64, 0, 1)),
      attr(RTA.GATEWAY, bytes(100, 64, 0, 9)),
      attr(RTA.UID, u32(0)),
      attr(RTA.CACHEINFO, cacheinfo(0)),
    ),
    route(
      { family: AF_INET6, dstLen: 128, srcLen: 128, table: 52, type: 1 },
      attr(RTA.DST, V6),
      attr(RTA.SRC, new Uint8Array(16)),
      attr(RTA.PRIORITY, u32(1024)),
      attr(RTA.CACHEINFO, cacheinfo(-113)),
    ),
    route(
      { family: AF_INET, table: 254, type: 1 },
      attr(RTA.VIA, concat(u16(AF_INET6), V6)),
      attr(RTA.MULTIPATH, u32(0)),
    ),
    errorAnswer(SEQ, 101),
    errorAnswer(SEQ, 22, 'ipv6: Invalid flags for get route request'),
  ];
}

function ruleCorpus(): Uint8Array[] {
  const rule = (header: Parameters<typeof ruleHeader>[0], ...attrs: Uint8Array[]) =>
    message(NL.RTM_NEWRULE, NL.F_MULTI, SEQ, concat(ruleHeader(header), ...attrs));
  const done = message(NL.DONE, NL.F_MULTI, SEQ, u32(0));
  return [
    concat(
      rule({ family: AF_INET, table: 255 }, attr(FRA.TABLE, u32(255))),
      rule(
        { family: AF_INET, srcLen: 8, dstLen: 16 },
        attr(FRA.PRIORITY, u32(5210)),
        attr(FRA.SRC, bytes(10, 0, 0, 0)),
        attr(FRA.DST, bytes(10, 1, 0, 0)),
        attr(FRA.FWMARK, u32(0x80000)),
        attr(FRA.FWMASK, u32(0xff0000)),
        attr(FRA.IIFNAME, cstring('lo')),
        attr(FRA.UID_RANGE, concat(u32(1), u32(2))),
        attr(FRA.DPORT_RANGE, concat(u16(443), u16(443))),
        attr(FRA.IP_PROTO, bytes(6)),
        attr(FRA.TABLE, u32(254)),
      ),
      rule({ family: AF_INET, action: 2 }, attr(FRA.PRIORITY, u32(5260)), attr(FRA.GOTO, u32(5270))),
      done,
    ),
    rule({ family: AF_INET, action: 7 }, attr(FRA.PRIORITY, u32(5250)), attr(FRA.SUPPRESS_PREFIXLEN, u32(0))),
  ];
}

/** A mutation of `input`: bytes changed, lengths rewritten, cut short, grown, or spliced. */
function mutate(rng: Rng, input: Uint8Array, corpus: Uint8Array[]): Uint8Array {
  let out: Uint8Array = input.slice();
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(Math.max(out.length, 1));
    switch (rng.int(6)) {
      case 0:
        out[at] = rng.int(256);
        break;
      case 1:
        out[at] = (out[at] ?? 0) ^ (1 << rng.int(8));
        break;
      case 2: {
        // a 16-bit length or type field: attributes and headers are 4-aligned
        const field = Math.min((at & ~3) + (rng.chance(0.5) ? 2 : 0), out.length - 2);
        if (field >= 0) new DataView(out.buffer).setUint16(field, rng.int(0x10000), true);
        break;
      }
      case 3:
        out = out.subarray(0, rng.int(out.length + 1)).slice();
        break;
      case 4:
        out = concat(out, rng.bytes(rng.int(24)));
        break;
      default:
        out = concat(out.subarray(0, at), rng.pick(corpus).subarray(rng.int(16)));
    }
  }
  return out;
}

const BAD = (error: unknown) => {
  expect((error as NodeJS.ErrnoException).code, String(error)).toBe('EBADMSG');
};

function checkRoute(answer: NativeRouteAnswer | null): void {
  if (answer === null || 'error' in answer) {
    if (answer !== null) expect(answer.error).toMatch(/^E[A-Z0-9]+$/);
    return;
  }
  const bits = answer.family === 4 ? 32 : 128;
  expect(answer.dstLen).toBeLessThanOrEqual(bits);
  expect(answer.srcLen).toBeLessThanOrEqual(bits);
  for (const a of [answer.dst, answer.src, answer.prefsrc]) {
    if (a !== undefined) expect(a.includes(':')).toBe(answer.family === 6);
  }
}

function checkRules(rules: NativeRule[], family: 4 | 6): void {
  const bits = family === 4 ? 32 : 128;
  for (const rule of rules) {
    expect(rule.srcLen).toBeLessThanOrEqual(bits);
    expect(rule.dstLen).toBeLessThanOrEqual(bits);
    for (const name of [rule.iif, rule.oif]) if (name !== undefined) expect(name.length).toBeLessThan(16);
  }
}

describe('netlink answer parsers under fuzzing', () => {
  it(`reads or refuses ${MESSAGES} mutated route answers`, () => {
    const rng = new Rng(SEED);
    const corpus = routeCorpus();
    let read = 0;
    for (let i = 0; i < MESSAGES; i++) {
      const input = rng.chance(0.1) ? rng.bytes(rng.int(80)) : mutate(rng, rng.pick(corpus), corpus);
      try {
        checkRoute(native().routeParse(input, SEQ));
        read++;
      } catch (error) {
        BAD(error);
      }
    }
    // The mutations keep enough answers whole for the checks past framing to run.
    expect(read).toBeGreaterThan(MESSAGES / 10);
  });

  it(`reads or refuses ${MESSAGES} mutated rule dumps`, () => {
    const rng = new Rng(SEED + 1);
    const corpus = ruleCorpus();
    let read = 0;
    for (let i = 0; i < MESSAGES; i++) {
      const input = rng.chance(0.1) ? rng.bytes(rng.int(80)) : mutate(rng, rng.pick(corpus), corpus);
      try {
        const { rules } = native().ruleParse(input, SEQ, 4);
        checkRules(rules, 4);
        read++;
      } catch (error) {
        BAD(error);
      }
    }
    expect(read).toBeGreaterThan(MESSAGES / 10);
  });
});
