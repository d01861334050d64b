/**
 * What the inbound filter decides for a packet. Verdicts are shared frozen objects, one per
 * outcome, so deciding allocates nothing; compare `allow` and `reason`, never identity.
 */

/** Every reason the filter drops a packet. Each has a counter in `DropCounters`. */
export const DROP_REASONS = [
  // Not a well-formed IPv4 or IPv6 packet with a whole transport header.
  'malformed',
  // A new inbound connection while Shields Up is on.
  'shields-up',
  // A new connection from a quarantined peer (one shared into our network).
  'quarantined',
  // A new connection no rule of the server's policy admits.
  'not-allowed-by-policy',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounters = Record<DropReason, number>;

export type Verdict = { readonly allow: true } | { readonly allow: false; readonly reason: DropReason };

export const ALLOW: Verdict = Object.freeze({ allow: true });

export const DROP: Readonly<Record<DropReason, Verdict>> = Object.freeze(
  Object.fromEntries(
    DROP_REASONS.map((reason) => [reason, Object.freeze({ allow: false, reason })]),
  ) as Record<DropReason, Verdict>,
);

export function newDropCounters(): DropCounters {
  return Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as DropCounters;
}
