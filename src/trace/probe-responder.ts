/**
 * The peer's side of a trace probe (stage 6 of `burrow trace`): what this device's inbound filter
 * would do with one packet from the asker, answered without I/O. burrowd hands it each probe
 * request it takes out of the tunnel (probe-packet.ts) with the peer the tunnel says sent it, and
 * sends the answer packet back to that peer.
 *
 * What it answers, and to whom. A probe tells the asker no more than its own packet would have
 * taught it:
 *  - only about packets from the asker itself: the source asked about must be the probe's own
 *    source, one of the asker's tunnel addresses (not an address of a subnet it routes). WireGuard
 *    has already bound that source to the asker's key. A probe about any other source is refused.
 *  - the verdict's reason (established flow, allowed by policy, Shields Up, quarantine, no rule):
 *    the asker's packet meets exactly that, and the issue wants the cause named.
 *  - for a packet admitted by policy, the rule's index and the part of the rule that admitted it
 *    (its source prefix and destination entry, src/filter/explanation.ts): never other rules, nor
 *    the other sources or destinations of that rule. For a drop, the reason alone.
 *  - whether something listens on the port, only when asked, only for a packet that would be
 *    admitted to one of this device's own addresses (the asker's SYN would learn it from the
 *    SYN-ACK or RST anyway), and only if the caller can tell (`listens`).
 * Rate limits (a token bucket per asker, and one for all askers together) keep a trace from
 * becoming a way to scan a device's policy. Refused probes get no answer (nothing to amplify, and
 * nothing learnt); each refusal is counted by its reason.
 */
import type { Explanation } from '../filter/explanation.js';
import type { PacketSource } from '../filter/inbound-filter.js';
import { askedPacket, canonicalAddress } from './asked-packet.js';
import type { PeerVerdictReason, ProbeAnswer, ProbeRequest } from './probe-message.js';
import { encodeProbePacket, type ProbePacket } from './probe-packet.js';
import { type RateLimit, TokenBucket } from './token-bucket.js';

/** The peer a probe came from, as the tunnel authenticated it. */
export interface ProbeAsker {
  /** Its node id, which its rate limit is kept under. */
  readonly id: string;
  /** Its own tunnel addresses (as text, any valid form), without the subnets it routes. */
  readonly addresses: readonly string[];
  /** Shared into our network: its new connections are refused (the filter's PacketSource). */
  readonly quarantined: boolean;
}

export type ExplainPacket = (packet: Uint8Array, from: PacketSource, now: number) => Explanation;

export interface ProbeResponderOptions {
  /** This device's tunnel addresses: probes must be sent to one of them. */
  readonly selfAddresses: readonly string[];
  /** The inbound filter's explain (InboundFilter.explain), which changes nothing. */
  readonly explain: ExplainPacket;
  /** Whether a socket listens on the port on this device; null when that cannot be told. */
  readonly listens?: (protocol: 'tcp' | 'udp', port: number) => boolean | null;
  readonly perAsker?: RateLimit;
  readonly global?: RateLimit;
  /** Askers whose buckets are kept; past it, the one not heard from the longest is forgotten. */
  readonly maxAskers?: number;
}

export const PROBE_REFUSALS = [
  // Over the asker's own rate limit, or over the limit for all askers together.
  'rate-limited',
  // Sent to an address that is not this device's.
  'not-to-us',
  // About a packet whose source is not the probe's source, or from an address not the asker's own.
  'foreign-source',
  // The filter could not judge the packet asked about (a bug: the packet is built here).
  'unjudged',
] as const;
export type ProbeRefusal = (typeof PROBE_REFUSALS)[number];
export type ProbeRefusalCounters = Record<ProbeRefusal, number>;

export const DEFAULT_PER_ASKER: RateLimit = { perSecond: 10, burst: 20 };
export const DEFAULT_GLOBAL: RateLimit = { perSecond: 50, burst: 100 };
const DEFAULT_MAX_ASKERS = 1024;

export type ProbeResponse = { readonly answer: Uint8Array } | { readonly refused: ProbeRefusal };

export class ProbeResponder {
  readonly refusals: ProbeRefusalCounters = Object.fromEntries(
    PROBE_REFUSALS.map((r) => [r, 0]),
  ) as ProbeRefusalCounters;
  /** Probes answered. */
  answered = 0;
  private readonly buckets = new Map<string, TokenBucket>();
  private global: TokenBucket | null = null;

  constructor(private readonly options: ProbeResponderOptions) {}

  /** The answer to a probe request `asker` sent (parsed by parseProbePacket), or why there is none. */
  respond(probe: ProbePacket & { message: ProbeRequest }, asker: ProbeAsker, now: number): ProbeResponse {
    if (!this.admit(asker.id, now)) return this.refuse('rate-limited');
    const q = probe.message;
    // The probe's addresses are written canonically (formatAddr); ours may come in any form.
    const self = this.options.selfAddresses;
    if (!holds(self, probe.dst)) return this.refuse('not-to-us');
    if (q.src !== probe.src || !holds(asker.addresses, probe.src)) return this.refuse('foreign-source');
    const why = this.options.explain(askedPacket(q.protocol, q.src, q.dst, q.port), asker, now);
    if (why.reason === 'malformed' || why.reason === 'later-fragment') return this.refuse('unjudged');
    const reason: PeerVerdictReason = why.reason;
    let listening: boolean | null = null;
    if (q.askListening && why.allow && q.protocol !== 'icmp' && holds(self, q.dst)) {
      listening = this.options.listens?.(q.protocol, q.port) ?? null;
    }
    const answer: ProbeAnswer = {
      type: 'answer',
      id: q.id,
      reason,
      rule: why.reason === 'policy' ? why.rule : null,
      ruleText: why.reason === 'policy' ? asciiText(why.ruleText) : null,
      listening,
    };
    this.answered++;
    return { answer: encodeProbePacket(probe.dst, probe.src, answer) };
  }

  /** Spends a token of the asker's bucket and of the global one; false (spending none) if either is empty. */
  private admit(askerId: string, now: number): boolean {
    this.global ??= new TokenBucket(this.options.global ?? DEFAULT_GLOBAL, now);
    let bucket = this.buckets.get(askerId);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.options.perAsker ?? DEFAULT_PER_ASKER, now);
      if (this.buckets.size >= (this.options.maxAskers ?? DEFAULT_MAX_ASKERS)) {
        // Map order is insertion order, refreshed below on every probe: the first is the stalest.
        this.buckets.delete(this.buckets.keys().next().value!);
      }
    }
    this.buckets.delete(askerId);
    this.buckets.set(askerId, bucket);
    // The asker's bucket first: one asker over its limit spends nothing of the others' share.
    return bucket.take(now) && this.global.take(now);
  }

  private refuse(reason: ProbeRefusal): ProbeResponse {
    this.refusals[reason]++;
    return { refused: reason };
  }
}

/** Whether `canonical` (as formatAddr writes it) is one of `addresses`, in whatever form they are written. */
function holds(addresses: readonly string[], canonical: string): boolean {
  return addresses.some((a) => a === canonical || canonicalAddress(a) === canonical);
}

/** Rule text as the wire takes it: printable ASCII, at most 255 characters (it is ASCII already). */
function asciiText(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?').slice(0, 255);
  return ascii.length > 0 ? ascii : '?';
}
