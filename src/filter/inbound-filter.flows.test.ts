import { describe, expect, it } from 'vitest';
import { icmpMessage, SYN, tcpHeader, udpDatagram } from '../../test/support/filter-packets.js';
import { ipv4, ipv6 } from '../../test/support/ip-packet.js';
import { DEFAULT_FLOW_TIMEOUTS } from './flow-table.js';
import { InboundFilter } from './inbound-filter.js';

// Flow lifetimes and the flow table's bound, seen through the filter under Shields Up, where only
// replies pass.

const US = 'fd7a:115c:a1e0::1';
const PEER = 'fd7a:115c:a1e0::2';
const PEER_V4 = '100.64.0.2';
const US_V4 = '100.64.0.1';
const FROM = { quarantined: false };

function shieldsUp(options?: ConstructorParameters<typeof InboundFilter>[0]): InboundFilter {
  const filter = new InboundFilter(options);
  filter.setShieldsUp(true);
  return filter;
}

const query = (port: number) => ipv6(US, PEER, udpDatagram(port, 53), 17);
const answer = (port: number) => ipv6(PEER, US, udpDatagram(53, port), 17);

describe('InboundFilter: flows expire', () => {
  const { udp, icmp, tcp } = DEFAULT_FLOW_TIMEOUTS;

  it('stops passing UDP replies once the flow has idled for its timeout', () => {
    const filter = shieldsUp();
    filter.outbound(query(40000), 0);
    expect(filter.inbound(answer(40000), FROM, udp - 1).allow).toBe(true);
    filter.outbound(query(40001), 0);
    expect(filter.inbound(answer(40001), FROM, udp)).toEqual({ allow: false, reason: 'shields-up' });
  });

  it('keeps a flow alive while packets flow either way', () => {
    const filter = shieldsUp();
    filter.outbound(query(40000), 0);
    // Each reply extends the flow, as a packet sent on it would.
    for (let t = udp / 2; t < 10 * udp; t += udp / 2) {
      expect(filter.inbound(answer(40000), FROM, t).allow).toBe(true);
    }
    filter.outbound(query(40000), 10 * udp);
    expect(filter.inbound(answer(40000), FROM, 11 * udp - 1).allow).toBe(true);
    expect(filter.inbound(answer(40000), FROM, 12 * udp).allow).toBe(false);
  });

  it('forgets a ping after the ICMP timeout', () => {
    const filter = shieldsUp();
    filter.outbound(ipv4(US_V4, PEER_V4, icmpMessage(8, 9), 1), 0);
    const reply = ipv4(PEER_V4, US_V4, icmpMessage(0, 9), 1);
    expect(filter.inbound(reply, FROM, icmp - 1).allow).toBe(true);
    expect(filter.inbound(reply, FROM, 2 * icmp - 1).allow).toBe(false);
  });

  it('passes a crossing SYN only within the TCP timeout', () => {
    const filter = shieldsUp();
    filter.outbound(ipv4(US_V4, PEER_V4, tcpHeader(40000, 80, SYN), 6), 0);
    const crossing = ipv4(PEER_V4, US_V4, tcpHeader(80, 40000, SYN), 6);
    expect(filter.inbound(crossing, FROM, tcp - 1).allow).toBe(true);
    expect(filter.inbound(crossing, FROM, 2 * tcp).allow).toBe(false);
  });

  it('does not extend a flow for an ICMP error about it', () => {
    const filter = shieldsUp();
    filter.outbound(query(40000), 0);
    const unreachable = ipv6(PEER, US, icmpMessage(1, 0, query(40000).subarray(0, 48)), 58);
    expect(filter.inbound(unreachable, FROM, udp - 1).allow).toBe(true);
    expect(filter.inbound(answer(40000), FROM, udp).allow).toBe(false);
  });

  it('takes its timeouts from the options', () => {
    const filter = shieldsUp({ flowTimeouts: { tcp: 10, udp: 10, icmp: 10 } });
    filter.outbound(query(40000), 0);
    expect(filter.inbound(answer(40000), FROM, 10).allow).toBe(false);
  });
});

describe('InboundFilter: the flow table is bounded', () => {
  it('tracks at most its capacity, forgetting the flows closest to expiry', () => {
    const capacity = 100;
    const filter = shieldsUp({ flowCapacity: capacity });
    for (let i = 0; i < 3 * capacity; i++) {
      filter.outbound(query(10000 + i), i);
      expect(filter.trackedFlows).toBeLessThanOrEqual(capacity);
    }
    const now = 3 * capacity;
    for (let i = 0; i < 3 * capacity; i++) {
      expect(filter.inbound(answer(10000 + i), FROM, now).allow).toBe(i >= 2 * capacity);
    }
  });

  it('reclaims expired flows as new ones arrive', () => {
    const filter = shieldsUp({ flowCapacity: 4 });
    const { icmp } = DEFAULT_FLOW_TIMEOUTS;
    filter.outbound(ipv6(US, PEER, icmpMessage(128, 1), 58), 0);
    filter.outbound(ipv6(US, PEER, icmpMessage(128, 2), 58), 0);
    expect(filter.trackedFlows).toBe(2);
    filter.outbound(query(1), icmp);
    expect(filter.trackedFlows).toBe(1);
  });

  it('holds a flood of one-packet flows in a fixed table', () => {
    const filter = shieldsUp();
    for (let i = 0; i < 200_000; i++) {
      const packet = ipv4(
        US_V4,
        `100.64.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}`,
        udpDatagram(i & 0xffff, 53),
        17,
      );
      filter.outbound(packet, i);
    }
    expect(filter.trackedFlows).toBe(65_536);
  });
});

describe('InboundFilter: drop counters', () => {
  it('counts each drop under its reason', () => {
    const filter = new InboundFilter();
    filter.inbound(new Uint8Array([0x45]), FROM, 0);
    filter.inbound(answer(1), FROM, 0);
    filter.inbound(answer(2), { quarantined: true }, 0);
    filter.setShieldsUp(true);
    filter.inbound(answer(3), FROM, 0);
    filter.inbound(answer(4), FROM, 0);
    expect(filter.drops).toEqual({
      malformed: 1,
      'not-allowed-by-policy': 1,
      quarantined: 1,
      'shields-up': 2,
    });
  });
});
