/**
 * With a packet filter (mesh mode), the fast path's engine writes to the TUN only the inbound
 * packets fp_filter_passes (helper/native/fp-core.c) is sure the filter lets through, and hands
 * every other one to the filter in JS; of what we send it hands the filter one packet per flow
 * per batch. These tests hold both to the filter's own per-packet verdicts
 * (src/filter/inbound-filter.ts): every packet C passes, the filter passes in any state, without
 * that verdict changing its state; and recording one packet per flow leaves it as recording all.
 */
import { describe, expect, it } from 'vitest';
import { InboundFilter } from '../../src/filter/inbound-filter.js';
import type { FilterRule } from '../../src/policy/filter.js';
import {
  ACK,
  fragment,
  icmpMessage,
  RST,
  SYN,
  tcpHeader,
  udpDatagram,
} from '../../test/support/filter-packets.js';
import { ipv4, ipv6 } from '../../test/support/ip-packet.js';
import { Rng } from '../../test/support/rng.js';
import { native } from '../native/index.js';

const US4 = '100.64.0.1';
const PEER4 = '100.64.0.2';
const US6 = 'fd7a:115c:a1e0::1';
const PEER6 = 'fd7a:115c:a1e0::2';
const FIN = 0x01;
const PSH = 0x08;
const URG = 0x20;

/** Inbound packets of every kind the filter tells apart, both IP versions. */
function corpus(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const flagSets = [SYN, ACK, SYN | ACK, RST, RST | ACK, FIN | ACK, PSH | ACK, URG | ACK, 0, SYN | FIN, 0xff];
  for (const [us, peer, ip, icmp] of [
    [US4, PEER4, ipv4, 1],
    [US6, PEER6, ipv6, 58],
  ] as const) {
    for (const flags of flagSets) {
      const segment = new Uint8Array([...tcpHeader(443, 50000, flags), 1, 2, 3, 4]);
      out.push(ip(peer, us, segment, 6));
      out.push(fragment(ip(peer, us, segment, 6), 0, true));
      out.push(fragment(ip(peer, us, segment, 6), 1, false));
      out.push(fragment(ip(peer, us, segment, 6), 3, false));
    }
    out.push(ip(peer, us, udpDatagram(53, 40000), 17));
    out.push(ip(peer, us, icmpMessage(icmp === 1 ? 0 : 129, 7), icmp));
    out.push(ip(peer, us, icmpMessage(icmp === 1 ? 8 : 128, 7), icmp));
    out.push(ip(peer, us, new Uint8Array(24), 47));
  }
  // IPv6 TCP behind a hop-by-hop header: the filter walks it, C hands it over.
  out.push(ipv6(PEER6, US6, new Uint8Array([6, 0, 1, 4, 0, 0, 0, 0, ...tcpHeader(443, 50000, ACK)]), 0));
  // IPv4 with options, and a TCP header with options.
  const options = ipv4(PEER4, US4, tcpHeader(443, 50000, ACK), 6);
  const withOptions = new Uint8Array(options.length + 4);
  withOptions.set(options.subarray(0, 20));
  withOptions.set(options.subarray(20), 24);
  withOptions[0] = 0x46;
  withOptions[2] = withOptions.length >> 8;
  withOptions[3] = withOptions.length & 0xff;
  out.push(withOptions);
  const longTcp = new Uint8Array([...tcpHeader(443, 50000, ACK), 1, 1, 1, 1]);
  longTcp[12] = 6 << 4;
  out.push(ipv4(PEER4, US4, longTcp, 6));
  return out;
}

/** A filter in the strictest state there is: Shields Up, no rule, nothing sent. */
function strictFilter(): InboundFilter {
  const filter = new InboundFilter();
  filter.setRules([] as FilterRule[]);
  filter.setShieldsUp(true);
  return filter;
}

describe('the fast path against the packet filter', () => {
  it('passes on its own only what the filter passes in any state, without changing it', () => {
    const rng = new Rng(15);
    const packets = corpus();
    const mutated: Uint8Array[] = [];
    for (let i = 0; i < 50_000; i++) {
      const p = packets[rng.int(packets.length)]!.slice();
      const changes = 1 + rng.int(3);
      for (let c = 0; c < changes; c++) p[rng.int(p.length)] = rng.int(256);
      mutated.push(rng.chance(0.1) ? p.subarray(0, rng.int(p.length + 1)) : p);
    }
    let passed = 0;
    const filter = strictFilter();
    for (const packet of [...packets, ...mutated]) {
      if (!native().fpFilterPasses(packet)) continue;
      passed++;
      const quarantined = filter.inbound(packet, { quarantined: true }, 1000);
      expect(quarantined.allow, Buffer.from(packet).toString('hex')).toBe(true);
      expect(filter.inbound(packet, { quarantined: false }, 1000).allow).toBe(true);
    }
    expect(filter.trackedFlows).toBe(0);
    expect(passed).toBeGreaterThan(1000);
  });

  it('takes TCP segments without SYN or RST as passes, and hands over the rest (burrow trace reads SYN-ACKs and RSTs)', () => {
    const segment = (flags: number) => new Uint8Array([...tcpHeader(443, 50000, flags), 9, 9]);
    for (const ip of [(p: Uint8Array) => ipv4(PEER4, US4, p, 6), (p: Uint8Array) => ipv6(PEER6, US6, p, 6)]) {
      expect(native().fpFilterPasses(ip(segment(ACK)))).toBe(true);
      expect(native().fpFilterPasses(ip(segment(PSH | ACK)))).toBe(true);
      expect(native().fpFilterPasses(ip(segment(FIN | ACK)))).toBe(true);
      expect(native().fpFilterPasses(ip(segment(SYN | ACK)))).toBe(false);
      expect(native().fpFilterPasses(ip(segment(RST)))).toBe(false);
      expect(native().fpFilterPasses(ip(segment(RST | ACK)))).toBe(false);
      expect(native().fpFilterPasses(ip(segment(SYN)))).toBe(false);
      expect(native().fpFilterPasses(ip(segment(SYN | FIN)))).toBe(false);
    }
    expect(native().fpFilterPasses(ipv4(PEER4, US4, udpDatagram(53, 40000), 17))).toBe(false);
    expect(native().fpFilterPasses(ipv4(PEER4, US4, icmpMessage(0, 7), 1))).toBe(false);
    expect(native().fpFilterPasses(fragment(ipv4(PEER4, US4, segment(ACK), 6), 2, false))).toBe(false);
  });

  it('recording one outbound packet per flow leaves the filter judging replies as recording every one', () => {
    const rng = new Rng(16);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 400; i++) {
      const port = 40000 + rng.int(20);
      const remote = [53, 443, 5000][rng.int(3)]!;
      const kind = rng.int(3);
      sent.push(
        kind === 0
          ? ipv4(US4, PEER4, udpDatagram(port, remote), 17)
          : kind === 1
            ? ipv4(US4, PEER4, tcpHeader(port, remote, rng.chance(0.5) ? SYN : ACK), 6)
            : ipv6(US6, PEER6, udpDatagram(port, remote), 17),
      );
    }
    const every = strictFilter();
    const once = strictFilter();
    const seen = new Set<string>();
    // A batch's packets are recorded at one time, as the datapath does; the key is what C compares.
    for (const packet of sent) {
      every.outbound(packet, 500);
      const v4 = packet[0]! >> 4 === 4;
      const transport = v4 ? 20 : 40;
      const key = Buffer.from([
        packet[0]!,
        v4 ? packet[9]! : packet[6]!,
        ...packet.subarray(v4 ? 12 : 8, v4 ? 20 : 40),
        ...packet.subarray(transport, transport + 4),
      ]).toString('hex');
      if (!seen.has(key)) once.outbound(packet, 500);
      seen.add(key);
    }
    expect(seen.size).toBeLessThan(sent.length);
    for (let port = 40000; port < 40020; port++) {
      for (const remote of [53, 443, 5000]) {
        for (const reply of [
          ipv4(PEER4, US4, udpDatagram(remote, port), 17),
          ipv4(PEER4, US4, tcpHeader(remote, port, SYN), 6),
          ipv6(PEER6, US6, udpDatagram(remote, port), 17),
        ]) {
          for (const at of [600, 20_000, 200_000]) {
            expect(once.inbound(reply, { quarantined: false }, at)).toEqual(
              every.inbound(reply, { quarantined: false }, at),
            );
          }
        }
      }
    }
  });
});
