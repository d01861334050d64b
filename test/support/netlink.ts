/**
 * Netlink messages by hand, for the tests of helper/native/route-codec.c: the kernel's answers to a
 * route lookup and to a rule dump, built field by field (host byte order, as netlink has it), so
 * that a test can make exactly the answer it needs, valid or not.
 */

export const NL = {
  ERROR: 2,
  DONE: 3,
  RTM_NEWROUTE: 24,
  RTM_GETROUTE: 26,
  RTM_NEWRULE: 32,
  F_REQUEST: 1,
  F_MULTI: 2,
  F_DUMP_INTR: 0x10,
  F_CAPPED: 0x100,
  F_ACK_TLVS: 0x200,
} as const;

export const RTA = {
  DST: 1,
  SRC: 2,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  PREFSRC: 7,
  MULTIPATH: 9,
  CACHEINFO: 12,
  TABLE: 15,
  MARK: 16,
  VIA: 18,
  UID: 25,
  IP_PROTO: 27,
  SPORT: 28,
  DPORT: 29,
} as const;

export const FRA = {
  DST: 1,
  SRC: 2,
  IIFNAME: 3,
  GOTO: 4,
  PRIORITY: 6,
  FWMARK: 10,
  SUPPRESS_PREFIXLEN: 14,
  TABLE: 15,
  FWMASK: 16,
  OIFNAME: 17,
  UID_RANGE: 20,
  PROTOCOL: 21,
  IP_PROTO: 22,
  SPORT_RANGE: 23,
  DPORT_RANGE: 24,
} as const;

const align4 = (n: number) => (n + 3) & ~3;

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, true);
  return out;
}

export function u16(n: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, n, true);
  return out;
}

export const bytes = (...values: number[]) => Uint8Array.from(values);

/** A zero-terminated string, as the kernel puts interface names and messages. */
export const cstring = (text: string) => concat(new TextEncoder().encode(text), bytes(0));

/** An attribute: length, type, data, padded to 4 bytes. */
export function attr(type: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(align4(4 + data.length));
  const view = new DataView(out.buffer);
  view.setUint16(0, 4 + data.length, true);
  view.setUint16(2, type, true);
  out.set(data, 4);
  return out;
}

/** A message: the 16-byte header, then the payload, padded to 4 bytes. */
export function message(
  type: number,
  flags: number,
  seq: number,
  payload: Uint8Array,
  pid = 4242,
): Uint8Array {
  const out = new Uint8Array(align4(16 + payload.length));
  const view = new DataView(out.buffer);
  view.setUint32(0, 16 + payload.length, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq, true);
  view.setUint32(12, pid, true);
  out.set(payload, 16);
  return out;
}

export interface RtmsgFields {
  family: number;
  dstLen?: number;
  srcLen?: number;
  table?: number;
  protocol?: number;
  scope?: number;
  type?: number;
  flags?: number;
}

/** struct rtmsg (12 bytes). */
export function rtmsg(f: RtmsgFields): Uint8Array {
  const out = new Uint8Array(12);
  out.set([
    f.family,
    f.dstLen ?? 0,
    f.srcLen ?? 0,
    0,
    f.table ?? 0,
    f.protocol ?? 0,
    f.scope ?? 0,
    f.type ?? 0,
  ]);
  new DataView(out.buffer).setUint32(8, f.flags ?? 0, true);
  return out;
}

/** struct fib_rule_hdr (12 bytes). */
export function ruleHeader(f: {
  family: number;
  dstLen?: number;
  srcLen?: number;
  table?: number;
  action?: number;
  flags?: number;
}): Uint8Array {
  const out = new Uint8Array(12);
  out.set([f.family, f.dstLen ?? 0, f.srcLen ?? 0, 0, f.table ?? 0, 0, 0, f.action ?? 1]);
  new DataView(out.buffer).setUint32(8, f.flags ?? 0, true);
  return out;
}

/** The kernel's refusal of a request: NLMSG_ERROR with -errno, the request's header (capped) and a message. */
export function errorAnswer(seq: number, errno: number, text?: string): Uint8Array {
  const request = message(NL.RTM_GETROUTE, NL.F_REQUEST, seq, new Uint8Array(20)).subarray(0, 16);
  const payload = concat(
    u32(-errno >>> 0),
    request,
    text === undefined ? new Uint8Array() : attr(1, cstring(text)),
  );
  return message(NL.ERROR, NL.F_CAPPED | (text === undefined ? 0 : NL.F_ACK_TLVS), seq, payload);
}

/** struct rta_cacheinfo (32 bytes) with only rta_error set. */
export function cacheinfo(error: number): Uint8Array {
  const out = new Uint8Array(32);
  new DataView(out.buffer).setInt32(12, error, true);
  return out;
}
