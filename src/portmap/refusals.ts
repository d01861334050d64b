/**
 * Every reason an answer from a gateway's port mapping service is refused. The parsers never throw
 * on the network's bytes: they return one of these, so that burrowd counts refusals by name.
 */
export const PORTMAP_REFUSALS = [
  // Fewer bytes than the message's fixed part, or more than its kind may have.
  'bad-length',
  // NAT-PMP's version is 0, PCP's 2; anything else is another protocol (or a newer one).
  'bad-version',
  // An opcode we did not ask for, or a request where an answer was expected.
  'unexpected-opcode',
  // A result code outside the RFC's table.
  'unknown-result',
  // A PCP answer whose nonce is not the request's: not for us, or forged.
  'nonce-mismatch',
  // A PCP option whose header or data runs past the end of the answer.
  'bad-option',
  // A mapping answer for another internal port or protocol than the one asked.
  'wrong-mapping',
  // A success that carries an unusable address or port (0.0.0.0, port 0).
  'bad-address',
  // An answer from an address other than the gateway asked (counted by the client, not a parser).
  'wrong-source',
  // SSDP: not an HTTP/1.1 200 answer, a header line without a colon, or over the bounds.
  'bad-http',
  // SSDP: no LOCATION, or one that is not a plain http URL on the gateway.
  'bad-location',
  // The device description names no WANIPConnection or WANPPPConnection service with a control URL.
  'no-igd-service',
  // An XML document over its bound, or without the element a call answers with.
  'bad-xml',
  // A SOAP fault from the gateway (its UPnP error code is kept apart).
  'soap-fault',
] as const;

export type PortmapRefusal = (typeof PORTMAP_REFUSALS)[number];

/** A parser's answer: the value, or the reason the bytes were refused. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; refusal: PortmapRefusal };

export function refuse<T>(refusal: PortmapRefusal): Parsed<T> {
  return { ok: false, refusal };
}

export function accept<T>(value: T): Parsed<T> {
  return { ok: true, value };
}
