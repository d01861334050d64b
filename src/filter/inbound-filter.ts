/**
 * The filter burrowd runs on every decrypted inbound packet before it reaches the TUN device, and
 * the flow tracking it needs from every outbound packet. I/O-free: it takes bytes and a time and
 * returns a verdict.
 *
 * An inbound packet passes if it answers a flow this device sent on (a reply), and otherwise only
 * as a new connection: refused outright under Shields Up or from a quarantined peer, else
 * admitted if the server's rules (PacketFilter) allow it. Replies are:
 *  - TCP: every segment but a bare SYN (SYN without ACK), tracked or not, as Shields Up's spec
 *    says. A host accepts no new connection without a bare SYN (short of guessing a SYN cookie),
 *    so the rest are replies or harmless (answered with a RST); and connections survive any
 *    idle time or a restart of the filter. A bare SYN is a reply only when it crosses ours on the
 *    same 5-tuple (simultaneous open).
 *  - UDP: a datagram from the address and port we sent to, to the port we sent from.
 *  - ICMP / ICMPv6: an echo reply (0 / 129) to our echo request (same addresses and identifier),
 *    and an error (unreachable, packet too big, time exceeded, parameter problem) quoting a
 *    packet we sent on a tracked flow, from the address it is delivered to. Routers on the path
 *    send errors, so the error's own source is not checked.
 *
 * Later fragments (offset > 0) carry no transport header to judge, and pass: the first fragment
 * carries the header and is judged, and without it the host cannot reassemble the rest, so they
 * reach nothing. Refusing them would break every fragmented reply (large UDP datagrams). A later
 * TCP fragment at offset 8, which could rewrite the first one's flags, is dropped as malformed
 * (RFC 1858), as is a first fragment too short to hold its transport header.
 */
import { type FilterRule, PacketFilter } from '../policy/filter.js';
import { admittingRuleText, type Explanation } from './explanation.js';
import {
  DEFAULT_FLOW_CAPACITY,
  DEFAULT_FLOW_TIMEOUTS,
  FlowKey,
  FlowTable,
  type FlowTimeouts,
} from './flow-table.js';
import { PacketFields, TCP, TCP_ACK, TCP_SYN, UDP } from './packet-fields.js';
import { ALLOW, DROP, type DropCounters, type DropReason, newDropCounters, type Verdict } from './verdict.js';

export interface InboundFilterOptions {
  /** Most flows tracked at once; the one closest to expiring makes way for a new one. */
  readonly flowCapacity?: number;
  readonly flowTimeouts?: FlowTimeouts;
}

/** What the filter needs to know of the peer a packet came from. */
export interface PacketSource {
  /** A peer shared into our network: it may answer our flows, but start none. */
  readonly quarantined: boolean;
}

// ICMP types: echo request and reply, and the errors that quote the packet they are about.
const ECHO_REQUEST_V4 = 8;
const ECHO_REPLY_V4 = 0;
const ECHO_REQUEST_V6 = 128;
const ECHO_REPLY_V6 = 129;
const ICMP_HEADER_LENGTH = 8;

// Outcomes of InboundFilter.classify other than a rule's index (which is >= 0).
const LATER_FRAGMENT = -1;
const ESTABLISHED = -2;
const MALFORMED = -3;
const SHIELDS_UP = -4;
const QUARANTINED = -5;
const NO_RULE = -6;
const DROPPED_BY: Readonly<Record<number, DropReason>> = {
  [MALFORMED]: 'malformed',
  [SHIELDS_UP]: 'shields-up',
  [QUARANTINED]: 'quarantined',
  [NO_RULE]: 'not-allowed-by-policy',
};

function isIcmpError(version: 4 | 6, type: number): boolean {
  // v4: destination unreachable, time exceeded, parameter problem. v6: those and packet too big.
  return version === 4 ? type === 3 || type === 11 || type === 12 : type >= 1 && type <= 4;
}

export class InboundFilter {
  /** Packets dropped, per reason. */
  readonly drops: DropCounters = newDropCounters();
  private policy = new PacketFilter([]);
  /** The rules `policy` was made from, for the text of the one that admits a packet. */
  private rules: readonly FilterRule[] = [];
  private shieldsUp = false;
  private readonly flows: FlowTable;
  // Reused for every packet, so that filtering allocates nothing.
  private readonly fields = new PacketFields();
  private readonly quoted = new PacketFields();
  private readonly key = new FlowKey();
  private readonly src4 = new Uint8Array(4);
  private readonly dst4 = new Uint8Array(4);
  private readonly src16 = new Uint8Array(16);
  private readonly dst16 = new Uint8Array(16);

  constructor(options: InboundFilterOptions = {}) {
    this.flows = new FlowTable(
      options.flowCapacity ?? DEFAULT_FLOW_CAPACITY,
      options.flowTimeouts ?? DEFAULT_FLOW_TIMEOUTS,
    );
  }

  /** Flows tracked, for status output (expired ones linger until new flows reclaim them). */
  get trackedFlows(): number {
    return this.flows.size;
  }

  /**
   * Replaces the server's rules. Until the first call, no new connection is admitted. Throws on a
   * malformed rule set, keeping the rules in force: a filter is never half-applied. Tracked
   * flows are kept, so replies to what we sent keep passing.
   */
  setRules(rules: readonly FilterRule[]): void {
    this.policy = new PacketFilter(rules);
    this.rules = rules;
  }

  /** Shields Up: no new inbound connection from anyone, whatever the rules; replies still pass. */
  setShieldsUp(on: boolean): void {
    this.shieldsUp = on;
  }

  /** Records the flow of a packet this device sends: call for every packet read from the TUN. */
  outbound(packet: Uint8Array, now: number): void {
    const f = this.fields;
    if (!f.read(packet) || f.laterFragment) return;
    if (f.protocol === TCP || f.protocol === UDP) {
      this.flows.record(
        this.key.set(f.protocol, packet, f.srcOffset, f.dstOffset, f.addressLength, f.srcPort, f.dstPort),
        now,
      );
    } else if (f.isIcmp && f.icmpType === (f.version === 4 ? ECHO_REQUEST_V4 : ECHO_REQUEST_V6)) {
      this.flows.record(
        this.key.set(f.protocol, packet, f.srcOffset, f.dstOffset, f.addressLength, f.icmpId, 0),
        now,
      );
    }
  }

  /** Decides whether a decrypted packet from a peer may reach the TUN. Never throws. */
  inbound(packet: Uint8Array, from: PacketSource, now: number): Verdict {
    const outcome = this.classify(packet, from, now, true);
    if (outcome >= 0 || outcome === LATER_FRAGMENT || outcome === ESTABLISHED) return ALLOW;
    return this.drop(DROPPED_BY[outcome]!);
  }

  /**
   * What `inbound` would decide for the packet, and why, changing nothing: no flow is renewed and
   * no counter moves, so a trace can ask about any packet without opening or keeping a door.
   */
  explain(packet: Uint8Array, from: PacketSource, now: number): Explanation {
    const outcome = this.classify(packet, from, now, false);
    if (outcome === LATER_FRAGMENT) return { allow: true, reason: 'later-fragment' };
    if (outcome === ESTABLISHED) return { allow: true, reason: 'established' };
    if (outcome < 0) return { allow: false, reason: DROPPED_BY[outcome]! };
    const f = this.fields;
    return {
      allow: true,
      reason: 'policy',
      rule: outcome,
      ruleText: admittingRuleText(
        this.rules[outcome]!,
        packet.slice(f.srcOffset, f.srcOffset + f.addressLength),
        packet.slice(f.dstOffset, f.dstOffset + f.addressLength),
        f.dstPort,
        f.protocol,
      ),
    };
  }

  /**
   * The one decision both `inbound` and `explain` report: the index of the policy rule that admits
   * a new connection (>= 0), or an outcome code (< 0). Renews the flow a reply answers if `renew`.
   */
  private classify(packet: Uint8Array, from: PacketSource, now: number, renew: boolean): number {
    const f = this.fields;
    if (!f.read(packet)) return MALFORMED;
    if (f.laterFragment) return LATER_FRAGMENT;
    if (this.isReply(packet, now, renew)) return ESTABLISHED;
    if (this.shieldsUp) return SHIELDS_UP;
    if (from.quarantined) return QUARANTINED;
    const v4 = f.version === 4;
    const src = copyAddress(packet, f.srcOffset, v4 ? this.src4 : this.src16);
    const dst = copyAddress(packet, f.dstOffset, v4 ? this.dst4 : this.dst16);
    // Ports are 0 for protocols without them, which the policy then ignores.
    const rule = this.policy.matchingRule(src, dst, f.dstPort, f.protocol);
    return rule >= 0 ? rule : NO_RULE;
  }

  /**
   * Whether the packet in `this.fields` answers a flow we sent on, renewing that flow if `renew`
   * (a TCP segment other than a bare SYN is a reply without a lookup).
   */
  private isReply(packet: Uint8Array, now: number, renew: boolean): boolean {
    const f = this.fields;
    if (f.protocol === TCP && (f.tcpFlags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) return true;
    if (f.protocol === TCP || f.protocol === UDP) {
      // Our flow, seen from our side: from the packet's destination to its source.
      const key = this.key.set(
        f.protocol,
        packet,
        f.dstOffset,
        f.srcOffset,
        f.addressLength,
        f.dstPort,
        f.srcPort,
      );
      return renew ? this.flows.renew(key, now) : this.flows.has(key, now);
    }
    if (!f.isIcmp) return false;
    if (f.icmpType === (f.version === 4 ? ECHO_REPLY_V4 : ECHO_REPLY_V6)) {
      const key = this.key.set(f.protocol, packet, f.dstOffset, f.srcOffset, f.addressLength, f.icmpId, 0);
      return renew ? this.flows.renew(key, now) : this.flows.has(key, now);
    }
    return isIcmpError(f.version, f.icmpType) && this.quotesOurFlow(packet, now);
  }

  /** Whether the ICMP error in `this.fields` quotes a packet we sent on a tracked flow. */
  private quotesOurFlow(packet: Uint8Array, now: number): boolean {
    const f = this.fields;
    const q = this.quoted;
    if (!q.readQuoted(packet, f.transportOffset + ICMP_HEADER_LENGTH, f.end)) return false;
    if (q.version !== f.version || q.laterFragment) return false;
    // We sent the quoted packet, so it is from the address the error is delivered to.
    for (let i = 0; i < f.addressLength; i++) {
      if (packet[q.srcOffset + i] !== packet[f.dstOffset + i]) return false;
    }
    let localPort: number;
    let remotePort = 0;
    if (q.protocol === TCP || q.protocol === UDP) {
      localPort = q.srcPort;
      remotePort = q.dstPort;
    } else if (q.isIcmp && q.icmpType === (q.version === 4 ? ECHO_REQUEST_V4 : ECHO_REQUEST_V6)) {
      localPort = q.icmpId;
    } else {
      return false;
    }
    const key = this.key.set(
      q.protocol,
      packet,
      q.srcOffset,
      q.dstOffset,
      q.addressLength,
      localPort,
      remotePort,
    );
    // An error is no sign the flow is alive, so it does not extend it.
    return this.flows.has(key, now);
  }

  private drop(reason: DropReason): Verdict {
    this.drops[reason]++;
    return DROP[reason];
  }
}

function copyAddress(packet: Uint8Array, offset: number, into: Uint8Array): Uint8Array {
  for (let i = 0; i < into.length; i++) into[i] = packet[offset + i]!;
  return into;
}
