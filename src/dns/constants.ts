/** DNS numbers the resolver uses (RFC 1035 §3.2, RFC 3596, RFC 6891, RFC 2308). */

export const HEADER_LENGTH = 12;
/** A name on the wire, length octets and root included (RFC 1035 §2.3.4). */
export const MAX_NAME_LENGTH = 255;
export const MAX_LABEL_LENGTH = 63;
/** What a UDP answer may fill when the query carries no OPT record (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_LIMIT = 512;
/**
 * The most a UDP answer fills whatever the client's OPT offers: the size DNS Flag Day 2020 settled
 * on, which fits an IPv6 packet in the minimum 1280-byte MTU, so answers are never fragmented.
 */
export const MAX_UDP_ANSWER = 1232;
/** A message carried over TCP: its 2-byte length prefix bounds it (RFC 1035 §4.2.2). */
export const MAX_MESSAGE = 65535;

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  ANY: 255,
} as const;

export const CLASS = { IN: 1, ANY: 255 } as const;

export const OPCODE = { QUERY: 0 } as const;

/** Response codes; BADVERS needs the OPT record's extended bits (RFC 6891 §6.1.3). */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;
