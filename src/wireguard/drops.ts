/** Every reason the core refuses a message or packet. Each has a counter in `DropCounters`. */
export const DROP_REASONS = [
  // framing
  'oversize',
  'bad-length',
  'unknown-type',
  // handshake messages
  'bad-mac1',
  'handshake-overload',
  'cookie-sent',
  'rate-limited',
  'unknown-peer',
  'handshake-failed',
  'replayed-initiation',
  'initiation-flood',
  'unexpected-response',
  'bad-cookie-reply',
  // transport messages
  'unknown-receiver-index',
  'expired-keypair',
  'counter-limit',
  'decrypt-failed',
  'replayed',
  'bad-inner-packet',
  'disallowed-source',
  // outbound packets
  'no-route',
  'no-endpoint',
  'staged-overflow',
  // a bug in the core; tests assert it stays zero
  'internal-error',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounters = Record<DropReason, number>;

export function newDropCounters(): DropCounters {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as DropCounters;
}
