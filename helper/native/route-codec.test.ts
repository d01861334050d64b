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
import { native } from './index.js';

/** The messages of a route lookup and a rule dump (route-codec.c), without a socket. */

const SEQ = 0x6b1a2c3d;
const AF_INET = 2;
const AF_INET6 = 10;
const v4 = (...b: number[]) => bytes(...b);
const v6 = (text: string) => {
  // Enough for the addresses below: "fd7a::5" and friends.
  const [head = '', tail = ''] = text.split('::');
  const groups = (s: string) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
};

const request = (
  dst: Uint8Array,
  options: Partial<{
    src: Uint8Array;
    mark: number;
    uid: number;
    proto: number;
    sport: number;
    dport: number;
    fib: boolean;
  }> = {},
) =>
  native().routeRequest(
    dst,
    options.src ?? null,
    options.mark ?? 0,
    options.uid ?? null,
    options.proto ?? 0,
    options.sport ?? 0,
    options.dport ?? 0,
    options.fib ?? false,
    SEQ,
  );

/** One answer's worth of route message. */
const routeAnswer = (fields: Parameters<typeof rtmsg>[0], ...attrs: Uint8Array[]) =>
  message(NL.RTM_NEWROUTE, 0, SEQ, concat(rtmsg(fields), ...attrs));

/** What routeParse throws for a malformed answer. */
function refusal(answer: Uint8Array): string {
  try {
    native().routeParse(answer, SEQ);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('EBADMSG');
    return (error as Error).message;
  }
  throw new Error('the answer was not refused');
}

describe('route lookup requests', () => {
  it('asks for an IPv4 destination with exactly the bytes ip route get sends', () => {
    // strace of `ip route get 100.64.0.5`: 36 bytes, RTM_F_LOOKUP_TABLE, one RTA_DST.
    const expected = concat(
      u32(36),
      u16(NL.RTM_GETROUTE),
      u16(NL.F_REQUEST),
      u32(SEQ),
      u32(0),
      rtmsg({ family: AF_INET, dstLen: 32, flags: 0x1000 }),
      attr(RTA.DST, v4(100, 64, 0, 5)),
    );
    expect([...request(v4(100, 64, 0, 5))]).toEqual([...expected]);
  });

  it('carries the source, mark, uid, protocol and ports, and asks for the fib match', () => {
    const got = request(v4(9, 9, 9, 9), {
      src: v4(192, 168, 5, 2),
      mark: 0x80000,
      uid: 1234,
      proto: 6,
      sport: 5,
      dport: 443,
      fib: true,
    });
    const attrs = concat(
      attr(RTA.DST, v4(9, 9, 9, 9)),
      attr(RTA.SRC, v4(192, 168, 5, 2)),
      attr(RTA.MARK, u32(0x80000)),
      attr(RTA.UID, u32(1234)),
      attr(RTA.IP_PROTO, bytes(6)),
      attr(RTA.SPORT, bytes(0, 5)),
      attr(RTA.DPORT, bytes(1, 0xbb)),
    );
    const header = rtmsg({ family: AF_INET, dstLen: 32, srcLen: 32, flags: 0x1000 | 0x2000 });
    expect([...got]).toEqual([...message(NL.RTM_GETROUTE, NL.F_REQUEST, SEQ, concat(header, attrs), 0)]);
  });

  it('asks IPv6 without RTM_F_LOOKUP_TABLE, which its strict checks refuse (it names its table anyway)', () => {
    const dst = v6('fd7a::5');
    const expected = message(
      NL.RTM_GETROUTE,
      NL.F_REQUEST,
      SEQ,
      concat(rtmsg({ family: AF_INET6, dstLen: 128 }), attr(RTA.DST, dst)),
      0,
    );
    expect([...request(dst)]).toEqual([...expected]);
  });

  it('refuses a destination that is no address, a source of the other family, and out-of-range numbers', () => {
    expect(() => request(bytes(1, 2, 3))).toThrow(/destination must be a Uint8Array of 4 or 16 bytes/);
    expect(() => request(v4(1, 2, 3, 4), { src: v6('fd7a::1') })).toThrow(
      /source must be null or an address/,
    );
    expect(() => request(v4(1, 2, 3, 4), { proto: 6, dport: 70000 })).toThrow(/ports below 65536/);
    expect(() => request(v4(1, 2, 3, 4), { mark: -1 })).toThrow(/mark must be an integer/);
  });
});

describe('route lookup answers', () => {
  it('reads a route: RTA_TABLE over rtm_table, addresses as text, numbers', () => {
    const answer = routeAnswer(
      { family: AF_INET, dstLen: 32, table: 254, type: 1, flags: 0x200 },
      attr(RTA.TABLE, u32(52)),
      attr(RTA.DST, v4(100, 64, 0, 5)),
      attr(RTA.OIF, u32(5)),
      attr(RTA.PREFSRC, v4(100, 64, 0, 1)),
      attr(RTA.GATEWAY, v4(100, 64, 0, 9)),
      attr(RTA.PRIORITY, u32(1024)),
      attr(RTA.MARK, u32(0x80000)),
      attr(RTA.UID, u32(1000)),
      attr(200, bytes(1, 2, 3)), // newer than the parser: skipped
      attr(RTA.CACHEINFO, cacheinfo(0)),
    );
    expect(native().routeParse(answer, SEQ)).toEqual({
      family: 4,
      type: 1,
      table: 52,
      protocol: 0,
      scope: 0,
      flags: 0x200,
      dstLen: 32,
      srcLen: 0,
      dst: '100.64.0.5',
      gateway: '100.64.0.9',
      prefsrc: '100.64.0.1',
      oif: 5,
      metric: 1024,
      mark: 0x80000,
      uid: 1000,
    });
  });

  it("reads IPv6's route error, a gateway of the other family (RTA_VIA) and several next hops", () => {
    const answer = routeAnswer(
      { family: AF_INET6, dstLen: 128, table: 52, type: 7 },
      attr(RTA.DST, v6('fd7b::1')),
      attr(RTA.CACHEINFO, cacheinfo(-113)),
    );
    expect(native().routeParse(answer, SEQ)).toMatchObject({
      family: 6,
      type: 7,
      dst: 'fd7b::1',
      routeError: 'EHOSTUNREACH',
    });
    const via = routeAnswer(
      { family: AF_INET, dstLen: 0, table: 254, type: 1 },
      attr(RTA.VIA, concat(u16(AF_INET6), v6('fe80::1'))),
      attr(RTA.MULTIPATH, new Uint8Array(8)),
    );
    expect(native().routeParse(via, SEQ)).toMatchObject({ gateway: 'fe80::1', multipath: true });
  });

  it("reads the kernel's refusal as data, with its extended-ack message when it sent one", () => {
    expect(native().routeParse(errorAnswer(SEQ, 101), SEQ)).toEqual({ error: 'ENETUNREACH' });
    expect(
      native().routeParse(errorAnswer(SEQ, 22, 'ipv6: Invalid flags for get route request'), SEQ),
    ).toEqual({
      error: 'EINVAL',
      message: 'ipv6: Invalid flags for get route request',
    });
  });

  it('passes over messages of other sequence numbers, and says when a buffer held no answer', () => {
    const other = routeAnswer({ family: AF_INET, dstLen: 32, type: 1 });
    new DataView(other.buffer).setUint32(8, SEQ + 1, true);
    expect(native().routeParse(other, SEQ)).toBeNull();
    expect(native().routeParse(concat(other, errorAnswer(SEQ, 113)), SEQ)).toEqual({ error: 'EHOSTUNREACH' });
  });

  it('refuses malformed answers, naming what is wrong', () => {
    const good = routeAnswer({ family: AF_INET, dstLen: 32, type: 1 }, attr(RTA.DST, v4(1, 2, 3, 4)));
    expect(refusal(good.subarray(0, 10))).toMatch(/shorter than its header/);
    const long = good.slice();
    new DataView(long.buffer).setUint32(0, good.length + 4, true);
    expect(refusal(long)).toMatch(/message length outside the buffer/);
    const attrTooLong = good.slice();
    new DataView(attrTooLong.buffer).setUint16(28, 40, true);
    expect(refusal(attrTooLong)).toMatch(/attribute length outside its message/);
    expect(refusal(routeAnswer({ family: AF_INET, dstLen: 32 }, attr(RTA.DST, v4(1, 2, 3))))).toMatch(
      /address attribute of the wrong length/,
    );
    expect(refusal(routeAnswer({ family: AF_INET }, attr(RTA.OIF, u32(1)), attr(RTA.OIF, u32(2))))).toMatch(
      /number attribute twice/,
    );
    expect(refusal(routeAnswer({ family: AF_INET }, attr(RTA.TABLE, bytes(52))))).toMatch(/not 4 bytes/);
    expect(refusal(routeAnswer({ family: 7 }))).toMatch(/neither IPv4 nor IPv6/);
    expect(refusal(routeAnswer({ family: AF_INET, dstLen: 33 }))).toMatch(/prefix length longer/);
    expect(refusal(message(NL.RTM_NEWRULE, 0, SEQ, new Uint8Array(12)))).toMatch(/not a route/);
    expect(refusal(message(NL.RTM_NEWROUTE, 0, SEQ, new Uint8Array(8)))).toMatch(/route message shorter/);
    expect(refusal(message(NL.ERROR, 0, SEQ, concat(u32(0), new Uint8Array(16))))).toMatch(
      /without an errno/,
    );
    expect(refusal(message(NL.ERROR, 0, SEQ, u32(-1 >>> 0)))).toMatch(/too short for its errno/);
    // An errno Linux does not have (found by the fuzz test: it has no name to report).
    expect(refusal(message(NL.ERROR, 0, SEQ, concat(u32(-2661 >>> 0), new Uint8Array(16))))).toMatch(
      /without an errno/,
    );
    expect(
      refusal(routeAnswer({ family: AF_INET }, attr(RTA.VIA, concat(u16(AF_INET6), v4(1, 2, 3, 4))))),
    ).toMatch(/via attribute of the wrong length/);
  });
});

describe('rule dumps', () => {
  const rule = (header: Parameters<typeof ruleHeader>[0], ...attrs: Uint8Array[]) =>
    message(NL.RTM_NEWRULE, NL.F_MULTI, SEQ, concat(ruleHeader(header), ...attrs));
  const done = (status = 0) => message(NL.DONE, NL.F_MULTI, SEQ, u32(status >>> 0));

  it('reads every selector of a rule, and the end of the dump', () => {
    const dump = concat(
      rule({ family: AF_INET, table: 255 }, attr(FRA.TABLE, u32(255)), attr(FRA.PROTOCOL, bytes(2))),
      rule(
        { family: AF_INET, srcLen: 8, dstLen: 16, table: 0, flags: 2 },
        attr(FRA.PRIORITY, u32(100)),
        attr(FRA.SRC, v4(10, 0, 0, 0)),
        attr(FRA.DST, v4(10, 1, 0, 0)),
        attr(FRA.FWMARK, u32(0x80000)),
        attr(FRA.FWMASK, u32(0xff0000)),
        attr(FRA.IIFNAME, cstring('lo')),
        attr(FRA.OIFNAME, cstring('burrow0')),
        attr(FRA.UID_RANGE, concat(u32(100), u32(200))),
        attr(FRA.IP_PROTO, bytes(6)),
        attr(FRA.SPORT_RANGE, concat(u16(10), u16(20))),
        attr(FRA.DPORT_RANGE, concat(u16(443), u16(443))),
        attr(FRA.SUPPRESS_PREFIXLEN, u32(0)),
        attr(FRA.TABLE, u32(52)),
      ),
      rule({ family: AF_INET, action: 2 }, attr(FRA.PRIORITY, u32(101)), attr(FRA.GOTO, u32(200))),
      rule(
        { family: AF_INET, table: 254 },
        attr(FRA.PRIORITY, u32(32766)),
        attr(FRA.SUPPRESS_PREFIXLEN, u32(0xffffffff)),
      ),
      done(),
    );
    const { rules, done: finished, error } = native().ruleParse(dump, SEQ, 4);
    expect(finished).toBe(true);
    expect(error).toBeUndefined();
    expect(rules).toEqual([
      { priority: 0, action: 1, table: 255, flags: 0, tos: 0, srcLen: 0, dstLen: 0, protocol: 2 },
      {
        priority: 100,
        action: 1,
        table: 52,
        flags: 2,
        tos: 0,
        srcLen: 8,
        dstLen: 16,
        src: '10.0.0.0',
        dst: '10.1.0.0',
        fwmark: 0x80000,
        fwmask: 0xff0000,
        iif: 'lo',
        oif: 'burrow0',
        uidStart: 100,
        uidEnd: 200,
        ipProto: 6,
        sportStart: 10,
        sportEnd: 20,
        dportStart: 443,
        dportEnd: 443,
        suppressPrefixLength: 0,
      },
      { priority: 101, action: 2, table: 0, flags: 0, tos: 0, srcLen: 0, dstLen: 0, goto: 200 },
      // suppress_prefixlength -1 is the kernel's "none".
      { priority: 32766, action: 1, table: 254, flags: 0, tos: 0, srcLen: 0, dstLen: 0 },
    ]);
  });

  it('says when more follows, when the rules changed during the dump, and how a dump ended', () => {
    const one = rule({ family: AF_INET6, table: 52 }, attr(FRA.PRIORITY, u32(5270)));
    expect(native().ruleParse(one, SEQ, 6)).toMatchObject({ done: false, rules: [{ priority: 5270 }] });
    const interrupted = message(
      NL.RTM_NEWRULE,
      NL.F_MULTI | NL.F_DUMP_INTR,
      SEQ,
      ruleHeader({ family: AF_INET6 }),
    );
    expect(native().ruleParse(interrupted, SEQ, 6)).toMatchObject({ done: true, error: 'EINTR' });
    expect(native().ruleParse(done(-16), SEQ, 6)).toMatchObject({ done: true, error: 'EBUSY' });
  });

  it('refuses malformed rules, naming what is wrong', () => {
    const refused = (dump: Uint8Array) => () => native().ruleParse(dump, SEQ, 4);
    expect(refused(rule({ family: AF_INET6 }))).toThrow(/a rule of another family/);
    expect(refused(rule({ family: AF_INET }, attr(FRA.IIFNAME, bytes(0x6c, 0x6f))))).toThrow(/unterminated/);
    expect(refused(rule({ family: AF_INET }, attr(FRA.OIFNAME, cstring('a-name-far-too-long'))))).toThrow(
      /too long/,
    );
    expect(refused(rule({ family: AF_INET }, attr(FRA.UID_RANGE, u32(1))))).toThrow(/malformed uid range/);
    expect(
      refused(rule({ family: AF_INET }, attr(FRA.PRIORITY, u32(1)), attr(FRA.PRIORITY, u32(2)))),
    ).toThrow(/number attribute twice/);
    expect(refused(rule({ family: AF_INET, dstLen: 40 }))).toThrow(/prefix length longer/);
    expect(refused(message(NL.RTM_NEWROUTE, NL.F_MULTI, SEQ, new Uint8Array(12)))).toThrow(/not a rule/);
    expect(refused(done(-2661))).toThrow(/ends without an errno/);
  });
});
