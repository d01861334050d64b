/**
 * The packet filter a device enforces on decrypted inbound traffic: the rules the server compiled
 * for it (compile.ts), and the check burrowd runs per packet. A packet passes when some rule
 * admits its protocol, its source address and its destination address and port (how ports apply
 * to each protocol is in protocol.ts). Anything no rule admits is dropped.
 *
 * PacketFilter prepares the rules once: each rule's sources and destinations go into
 * longest-prefix-match tries (WireGuard's AllowedIPs table), so a rule admitting thousands of
 * source devices, or dozens of destination prefixes, costs one trie walk each per packet, on
 * addresses read in place from the packet.
 */
import { AllowedIps } from '../wireguard/allowed-ips.js';
import { ALL_IPV4, ALL_IPV6, parseAddress, parsePrefix } from './prefix.js';
import { portsAdmit } from './protocol.js';

export interface DstPorts {
  /** A CIDR, or "*" for any address the device receives traffic for. */
  readonly ip: string;
  readonly ports: { readonly first: number; readonly last: number };
}

export interface FilterRule {
  /** CIDRs ("100.64.0.5/32"); "*" is accepted too, for any source. */
  readonly srcIps: readonly string[];
  readonly dstPorts: readonly DstPorts[];
  /** IP protocol numbers; empty for all. */
  readonly protocols: readonly number[];
}

type Ranges = readonly { readonly first: number; readonly last: number }[];

interface PreparedRule {
  /** Indexed by protocol number; null when the rule admits all. */
  readonly protocols: Uint8Array | null;
  readonly sources: AllowedIps<true>;
  /** The ports of "*" destinations, which apply whatever the address. */
  readonly anyDst: Ranges;
  /** Per destination prefix, its ports and those of every shorter prefix containing it. */
  readonly dsts: AllowedIps<Ranges>;
}

export class PacketFilter {
  private readonly rules: readonly PreparedRule[];

  /** Throws on a malformed address or CIDR, so a bad filter is refused as a whole, never half-applied. */
  constructor(rules: readonly FilterRule[]) {
    this.rules = rules.map((rule) => {
      const sources = new AllowedIps<true>();
      for (const text of rule.srcIps) {
        const prefixes = text === '*' ? [ALL_IPV4, ALL_IPV6] : [parsePrefix(text)];
        for (const p of prefixes) sources.insert(p.addr, p.bits, true);
      }
      let protocols: Uint8Array | null = null;
      if (rule.protocols.length > 0) {
        protocols = new Uint8Array(256);
        for (const proto of rule.protocols) {
          if (!Number.isInteger(proto) || proto < 0 || proto > 255) {
            throw new Error(`protocol ${proto} is not 0-255`);
          }
          protocols[proto] = 1;
        }
      }
      for (const { ports } of rule.dstPorts) {
        const { first, last } = ports;
        if (
          !Number.isInteger(first) ||
          !Number.isInteger(last) ||
          first < 0 ||
          first > last ||
          last > 65535
        ) {
          throw new Error(`port range ${first}-${last} is not valid`);
        }
      }
      const anyDst = rule.dstPorts.filter((d) => d.ip === '*').map((d) => d.ports);
      // A longest-prefix match finds one prefix, so each prefix carries its ancestors' ports too:
      // inserted shortest first, a prefix finds its ancestors' accumulated ports by one lookup.
      const prefixes = rule.dstPorts
        .filter((d) => d.ip !== '*')
        .map((d) => ({ prefix: parsePrefix(d.ip), ports: d.ports }))
        .sort((a, b) => a.prefix.bits - b.prefix.bits);
      const dsts = new AllowedIps<Ranges>();
      for (const { prefix, ports } of prefixes) {
        // A repeated prefix finds itself, and is replaced with its ports added.
        dsts.insert(prefix.addr, prefix.bits, [...(dsts.lookup(prefix.addr) ?? []), ports]);
      }
      return { protocols, sources, anyDst, dsts };
    });
  }

  /**
   * Whether a packet passes. Addresses are 4 or 16 bytes (`src` and `dst` of the same family);
   * `port` is the destination port, ignored for protocols without ports.
   */
  allows(src: Uint8Array, dst: Uint8Array, port: number, proto: number): boolean {
    return this.matchingRule(src, dst, port, proto) >= 0;
  }

  /** The index of the first rule that admits the packet (as `allows` takes it), or -1 if none does. */
  matchingRule(src: Uint8Array, dst: Uint8Array, port: number, proto: number): number {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.protocols !== null && rule.protocols[proto] !== 1) continue;
      const ranges = rule.dsts.lookup(dst);
      const dstAdmitted =
        admits(rule.anyDst, port, proto) || (ranges !== undefined && admits(ranges, port, proto));
      if (dstAdmitted && rule.sources.lookup(src) !== undefined) return i;
    }
    return -1;
  }
}

function admits(ranges: Ranges, port: number, proto: number): boolean {
  for (const r of ranges) if (portsAdmit(proto, port, r.first, r.last)) return true;
  return false;
}

// Prepared filters for matchesFilter, per rules array (which must not be changed afterwards).
const prepared = new WeakMap<readonly FilterRule[], PacketFilter>();

/** Whether the rules admit a packet, with addresses as text ("100.64.0.5", "fd7a:115c:a1e0::5"). */
export function matchesFilter(
  rules: readonly FilterRule[],
  srcIp: string,
  dstIp: string,
  port: number,
  proto: number,
): boolean {
  let filter = prepared.get(rules);
  if (filter === undefined) {
    filter = new PacketFilter(rules);
    prepared.set(rules, filter);
  }
  return filter.allows(parseAddress(srcIp).addr, parseAddress(dstIp).addr, port, proto);
}
