/**
 * Every reason a STUN datagram is refused. Parsing never throws on untrusted input: it returns one
 * of these, so a caller can count refusals by name (the server exports them as metrics).
 */
export const STUN_REFUSALS = [
  // The 20-byte header: fewer bytes than a header.
  'too-short',
  // The two leading bits of every STUN message are zero (RFC 5389 §6).
  'leading-bits-set',
  // No magic cookie: not RFC 5389 STUN (an RFC 3489 client, or another protocol).
  'bad-magic-cookie',
  // Attributes are padded to 4 bytes, so the body length always is a multiple of 4.
  'length-not-multiple-of-4',
  // The header's length does not match the datagram's.
  'length-mismatch',
  // An attribute's header or value runs past the end of the message.
  'truncated-attribute',
  // FINGERPRINT must be the last attribute.
  'attribute-after-fingerprint',
  // FINGERPRINT is 4 bytes.
  'bad-fingerprint-length',
  // The CRC does not match: corrupted, or not STUN after all.
  'fingerprint-mismatch',
  // The method is not Binding, the only one we speak.
  'not-binding',
  // A response where a request was expected, or the other way round (indications included).
  'unexpected-class',
  // A comprehension-required attribute we do not know (a request gets a 420 error response).
  'unknown-required-attribute',
  // An address attribute whose family is neither IPv4 (1) nor IPv6 (2).
  'bad-address-family',
  // An address attribute whose length does not fit its family.
  'bad-address-length',
  // A success response with neither XOR-MAPPED-ADDRESS nor MAPPED-ADDRESS.
  'missing-mapped-address',
  // An error response whose ERROR-CODE is missing or out of range.
  'bad-error-code',
] as const;

export type StunRefusal = (typeof STUN_REFUSALS)[number];
