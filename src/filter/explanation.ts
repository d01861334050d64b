/**
 * Why the inbound filter decides what it does for a packet: InboundFilter.explain's answer, for
 * `burrow trace` (the local device's view, and the peer's answer to a trace probe).
 *
 * A rule is told as the part of it that admitted the packet, not the whole rule: the source
 * prefix that holds the packet's source and the destination entry that admits its address and
 * port. That is all the packet experienced, so showing it to whoever sent the packet tells them
 * nothing about who else the rule lets in.
 */
import type { FilterRule } from '../policy/filter.js';
import { containsAddress, parsePrefix } from '../policy/prefix.js';
import { portsAdmit, protocolName } from '../policy/protocol.js';
import type { DropReason } from './verdict.js';

export type Explanation =
  /** A reply to a flow this device started (an established flow), which every state lets in. */
  | { readonly allow: true; readonly reason: 'established' }
  /** A fragment after the first: no transport header to judge, and useless without the first. */
  | { readonly allow: true; readonly reason: 'later-fragment' }
  /** A new connection the policy admits: by rule `rule` (its index in the filter), told as `ruleText`. */
  | { readonly allow: true; readonly reason: 'policy'; readonly rule: number; readonly ruleText: string }
  | { readonly allow: false; readonly reason: DropReason };

export type ExplanationReason = Explanation['reason'];

/** Longest text of a rule told in an explanation (a prefix and an entry are far shorter). */
export const MAX_RULE_TEXT = 256;

/**
 * The part of `rule` that admits a packet from `src` to `dst`:`port` over `proto`, as
 * "100.64.0.2/32 -> 100.64.0.1/32:80 tcp". Addresses are 4 or 16 bytes, as the filter reads them;
 * the rule must admit the packet (PacketFilter.matchingRule found it).
 */
export function admittingRuleText(
  rule: FilterRule,
  src: Uint8Array,
  dst: Uint8Array,
  port: number,
  proto: number,
): string {
  const source = longest(
    rule.srcIps.filter((text) => text === '*' || holds(text, src)),
    (text) => text,
  );
  const entry = longest(
    rule.dstPorts.filter(
      (d) => (d.ip === '*' || holds(d.ip, dst)) && portsAdmit(proto, port, d.ports.first, d.ports.last),
    ),
    (d) => d.ip,
  );
  const protocols =
    rule.protocols.length === 0 ? 'any protocol' : rule.protocols.map((p) => protocolName(p)).join('/');
  const target = entry === undefined ? '?' : `${entry.ip}:${portsText(entry.ports)}`;
  return `${source ?? '?'} -> ${target} ${protocols}`.slice(0, MAX_RULE_TEXT);
}

function portsText({ first, last }: { first: number; last: number }): string {
  if (first === 0 && last === 65535) return '*';
  return first === last ? String(first) : `${first}-${last}`;
}

function holds(cidr: string, addr: Uint8Array): boolean {
  const prefix = parsePrefix(cidr);
  return prefix.addr.length === addr.length && containsAddress(prefix, addr);
}

/** The most specific of the matches: the longest prefix ("*" is the shortest). */
function longest<T>(items: readonly T[], cidrOf: (item: T) => string): T | undefined {
  const bits = (item: T) => {
    const text = cidrOf(item);
    return text === '*' ? -1 : parsePrefix(text).bits;
  };
  let best: T | undefined;
  for (const item of items) if (best === undefined || bits(item) > bits(best)) best = item;
  return best;
}
