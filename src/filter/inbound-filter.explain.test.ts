import { describe, expect, it } from 'vitest';
import {
  ACK,
  fragment,
  icmpMessage,
  SYN,
  tcpHeader,
  udpDatagram,
} from '../../test/support/filter-packets.js';
import { ipv4, ipv6 } from '../../test/support/ip-packet.js';
import { Rng } from '../../test/support/rng.js';
import { type FilterRule, matchesFilter } from '../policy/filter.js';
import { InboundFilter } from './inbound-filter.js';

const US = '100.64.0.1';
const PEER = '100.64.0.2';
const US6 = 'fd7a:115c:a1e0::1';
const PEER6 = 'fd7a:115c:a1e0::2';
const TCP = 6;
const UDP = 17;

const v4Addresses = ['100.64.0.1', '100.64.0.2', '100.64.0.3', '10.1.2.3'];
const v6Addresses = ['fd7a:115c:a1e0::1', 'fd7a:115c:a1e0::2', 'fd7a:115c:a1e0::3'];
const v4Prefixes = ['100.64.0.1/32', '100.64.0.2/32', '100.64.0.0/24', '10.0.0.0/8', '0.0.0.0/0'];
const v6Prefixes = ['fd7a:115c:a1e0::1/128', 'fd7a:115c:a1e0::2/128', 'fd7a:115c:a1e0::/48'];

function randomRange(rng: Rng): { first: number; last: number } {
  const r = rng.int(4);
  if (r === 0) return { first: 0, last: 65535 };
  const first = rng.pick([22, 53, 80, 443, 1000]);
  return { first, last: r === 1 ? first : first + rng.int(100) };
}

function randomRules(rng: Rng): FilterRule[] {
  return Array.from({ length: rng.int(6) }, () => ({
    srcIps: Array.from({ length: 1 + rng.int(3) }, () =>
      rng.chance(0.1) ? '*' : rng.pick([...v4Prefixes, ...v6Prefixes]),
    ),
    dstPorts: Array.from({ length: 1 + rng.int(3) }, () => ({
      ip: rng.chance(0.2) ? '*' : rng.pick([...v4Prefixes, ...v6Prefixes]),
      ports: randomRange(rng),
    })),
    protocols: rng.chance(0.5) ? [] : [rng.pick([TCP, UDP, 1, 58, 47])],
  }));
}

/** A packet between random addresses of one family: TCP, UDP, ping, GRE, now and then a fragment or junk. */
function randomPacket(rng: Rng): Uint8Array {
  const six = rng.chance(0.3);
  const pool = six ? v6Addresses : v4Addresses;
  const [src, dst] = [rng.pick(pool), rng.pick(pool)];
  const ip = six ? ipv6 : ipv4;
  const port = () => rng.pick([22, 53, 80, 81, 443, 1050, 40000]);
  let packet: Uint8Array;
  switch (rng.int(5)) {
    case 0:
      packet = ip(src, dst, tcpHeader(port(), port(), rng.pick([SYN, SYN, ACK, SYN | ACK])), TCP);
      break;
    case 1:
      packet = ip(src, dst, udpDatagram(port(), port()), UDP);
      break;
    case 2:
      packet = ip(
        src,
        dst,
        icmpMessage(six ? rng.pick([128, 129]) : rng.pick([8, 0]), rng.int(4)),
        six ? 58 : 1,
      );
      break;
    case 3:
      packet = ip(src, dst, new Uint8Array(8), 47);
      break;
    default:
      packet = rng.chance(0.5)
        ? fragment(ip(src, dst, udpDatagram(port(), port(), 64), UDP), 3, false)
        : rng.bytes(30);
  }
  return packet;
}

describe('InboundFilter.explain', () => {
  it('gives the decision inbound gives, with the first admitting rule, over random packets and rule sets', () => {
    const rng = new Rng(18);
    let byRule = 0;
    for (let set = 0; set < 300; set++) {
      const rules = randomRules(rng);
      // `explained` is asked before every packet; `plain` never is: the two must stay the same.
      const explained = new InboundFilter({ flowCapacity: 64 });
      const plain = new InboundFilter({ flowCapacity: 64 });
      const shieldsUp = rng.chance(0.1);
      for (const f of [explained, plain]) {
        f.setRules(rules);
        f.setShieldsUp(shieldsUp);
      }
      let now = 0;
      for (let i = 0; i < 100; i++) {
        now += rng.int(30_000);
        const packet = randomPacket(rng);
        if (rng.chance(0.3)) {
          explained.outbound(packet, now);
          plain.outbound(packet, now);
          continue;
        }
        const from = { quarantined: rng.chance(0.1) };
        const why = explained.explain(packet, from, now);
        const verdict = explained.inbound(packet, from, now);
        expect(plain.inbound(packet, from, now)).toEqual(verdict);
        expect(why.allow).toBe(verdict.allow);
        if (!why.allow) expect(why.reason).toBe(verdict.allow ? undefined : verdict.reason);
        if (why.reason === 'policy') {
          byRule++;
          const [src, dst, port, proto] = fieldsOf(packet);
          expect(matchesFilter([rules[why.rule]!], src, dst, port, proto)).toBe(true);
          for (const earlier of rules.slice(0, why.rule)) {
            expect(matchesFilter([earlier], src, dst, port, proto)).toBe(false);
          }
        }
      }
      expect(explained.drops).toEqual(plain.drops);
    }
    expect(byRule).toBeGreaterThan(200);
  });

  it('says why, for each outcome', () => {
    const rules: FilterRule[] = [
      { srcIps: ['100.64.0.9/32'], dstPorts: [{ ip: '*', ports: { first: 0, last: 65535 } }], protocols: [] },
      {
        srcIps: ['100.64.0.7/32', '100.64.0.0/24', '*'],
        dstPorts: [
          { ip: '100.64.0.5/32', ports: { first: 80, last: 80 } },
          { ip: '100.64.0.1/32', ports: { first: 80, last: 90 } },
        ],
        protocols: [TCP],
      },
    ];
    const filter = new InboundFilter();
    filter.setRules(rules);
    const open = { quarantined: false };
    const syn = (port: number) => ipv4(PEER, US, tcpHeader(50000, port, SYN), TCP);
    // Only the parts that admitted the packet: not the other sources or destinations of the rule.
    expect(filter.explain(syn(85), open, 0)).toEqual({
      allow: true,
      reason: 'policy',
      rule: 1,
      ruleText: '100.64.0.0/24 -> 100.64.0.1/32:80-90 tcp',
    });
    expect(filter.explain(syn(22), open, 0)).toEqual({ allow: false, reason: 'not-allowed-by-policy' });
    expect(filter.explain(syn(85), { quarantined: true }, 0)).toEqual({
      allow: false,
      reason: 'quarantined',
    });
    expect(filter.explain(ipv4(PEER, US, tcpHeader(50000, 22, ACK), TCP), open, 0)).toEqual({
      allow: true,
      reason: 'established',
    });
    expect(filter.explain(new Uint8Array(3), open, 0)).toEqual({ allow: false, reason: 'malformed' });
    filter.setShieldsUp(true);
    expect(filter.explain(syn(85), open, 0)).toEqual({ allow: false, reason: 'shields-up' });
    // Nothing was counted: explaining is not filtering.
    expect(Object.values(filter.drops).every((n) => n === 0)).toBe(true);
  });

  it('tells a "*" rule over IPv6 as the policy wrote it', () => {
    const filter = new InboundFilter();
    filter.setRules([
      { srcIps: ['*'], dstPorts: [{ ip: '*', ports: { first: 0, last: 65535 } }], protocols: [] },
    ]);
    const packet = ipv6(PEER6, US6, udpDatagram(5000, 53), UDP);
    expect(filter.explain(packet, { quarantined: false }, 0)).toMatchObject({
      rule: 0,
      ruleText: '* -> *:* any protocol',
    });
  });

  it('renews no flow: a reply explained late in its flow still finds the flow expired on time', () => {
    const filter = new InboundFilter({ flowTimeouts: { tcp: 1000, udp: 1000, icmp: 1000 } });
    filter.setRules([]);
    filter.outbound(ipv4(US, PEER, udpDatagram(40000, 53), UDP), 0);
    const reply = ipv4(PEER, US, udpDatagram(53, 40000), UDP);
    expect(filter.explain(reply, { quarantined: false }, 900)).toEqual({
      allow: true,
      reason: 'established',
    });
    // Had explain renewed the flow at 900, it would live until 1900.
    expect(filter.inbound(reply, { quarantined: false }, 1100)).toEqual({
      allow: false,
      reason: 'not-allowed-by-policy',
    });
  });
});

/** Addresses as text, destination port and protocol of a plain (unfragmented) test packet. */
function fieldsOf(packet: Uint8Array): [string, string, number, number] {
  const six = packet[0]! >> 4 === 6;
  const text = (at: number, n: number) =>
    six
      ? Array.from({ length: 8 }, (_, i) =>
          ((packet[at + 2 * i]! << 8) | packet[at + 2 * i + 1]!).toString(16),
        ).join(':')
      : Array.from(packet.subarray(at, at + n)).join('.');
  const proto = six ? packet[6]! : packet[9]!;
  const t = six ? 40 : 20;
  const port = proto === TCP || proto === UDP ? (packet[t + 2]! << 8) | packet[t + 3]! : 0;
  return six ? [text(8, 16), text(24, 16), port, proto] : [text(12, 4), text(16, 4), port, proto];
}
