/**
 * Why a DNS message does not parse. The parser runs on bytes from the network, so it throws only
 * this error, naming the reason (for counters) and the byte offset where it noticed.
 */

export const DNS_PARSE_REASONS = [
  // Fewer than the 12 bytes of a header.
  'too-short',
  // The header's counts promise more records than the message has room for (checked up front, so
  // a tiny message cannot make the parser allocate for 65535 records).
  'counts-exceed-length',
  // A name, a fixed field or rdata runs past the end of the message.
  'truncated',
  // A label's top bits are 01 or 10: the obsolete extended and reserved label types.
  'bad-label-type',
  // A compression pointer that does not point strictly before the previous one (a loop, or a
  // pointer forward), or that points into the header.
  'bad-pointer',
  // A name longer than 255 bytes once its pointers are followed.
  'name-too-long',
  // Rdata whose length does not match its type (an A of 5 bytes, a PTR name that ends early).
  'bad-rdata-length',
  // An OPT record that is not in the additional section, not owned by the root, whose options
  // overrun it, or a second one (RFC 6891 §6.1.1).
  'bad-opt',
  // Bytes left after the last record the counts announce.
  'trailing-bytes',
] as const;

export type DnsParseReason = (typeof DNS_PARSE_REASONS)[number];

export class DnsParseError extends Error {
  constructor(
    readonly reason: DnsParseReason,
    readonly offset: number,
  ) {
    super(`malformed DNS message: ${reason} at byte ${offset}`);
    this.name = 'DnsParseError';
  }
}
