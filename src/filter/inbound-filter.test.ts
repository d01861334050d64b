import { describe, expect, it } from 'vitest';
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
import type { FilterRule } from '../policy/filter.js';
import { InboundFilter } from './inbound-filter.js';
import type { DropReason } from './verdict.js';

const FIN = 0x01;
const GRE = 47;

interface Family {
  readonly name: string;
  readonly us: string;
  readonly peer: string;
  readonly other: string;
  readonly icmp: number;
  readonly echoRequest: number;
  readonly echoReply: number;
  readonly unreachable: number;
  /** The error that drives path MTU discovery. */
  readonly tooBig: number;
  readonly headerLength: number;
  wrap(src: string, dst: string, protocol: number, payload: Uint8Array): Uint8Array;
}

const FAMILIES: readonly Family[] = [
  {
    name: 'IPv4',
    us: '100.64.0.1',
    peer: '100.64.0.2',
    other: '100.64.0.3',
    icmp: 1,
    echoRequest: 8,
    echoReply: 0,
    unreachable: 3,
    tooBig: 3, // destination unreachable, code 4 ("fragmentation needed")
    headerLength: 20,
    wrap: (src, dst, protocol, payload) => ipv4(src, dst, payload, protocol),
  },
  {
    name: 'IPv6',
    us: 'fd7a:115c:a1e0::1',
    peer: 'fd7a:115c:a1e0::2',
    other: 'fd7a:115c:a1e0::3',
    icmp: 58,
    echoRequest: 128,
    echoReply: 129,
    unreachable: 1,
    tooBig: 2,
    headerLength: 40,
    wrap: (src, dst, protocol, payload) => ipv6(src, dst, payload, protocol),
  },
];

/** Packet builders for one address family, with its addresses. */
function builders(f: Family) {
  const echo = (src: string, dst: string, kind: 'request' | 'reply', id: number) =>
    f.wrap(src, dst, f.icmp, icmpMessage(kind === 'request' ? f.echoRequest : f.echoReply, id));
  return {
    ...f,
    tcp: (src: string, dst: string, srcPort: number, dstPort: number, flags: number) =>
      f.wrap(src, dst, 6, tcpHeader(srcPort, dstPort, flags)),
    udp: (src: string, dst: string, srcPort: number, dstPort: number) =>
      f.wrap(src, dst, 17, udpDatagram(srcPort, dstPort)),
    echo,
    /** An ICMP error quoting the IP header and 8 bytes of `about`, as RFC 792 requires at least. */
    error: (src: string, dst: string, about: Uint8Array, type = f.unreachable) =>
      f.wrap(src, dst, f.icmp, icmpMessage(type, 0, about.subarray(0, f.headerLength + 8))),
    gre: (src: string, dst: string) => f.wrap(src, dst, GRE, new Uint8Array(8)),
  };
}

type Builders = ReturnType<typeof builders>;

/** A packet from the peer, and the verdict expected: 'allow' or a drop reason. */
type Case = readonly [name: string, packet: (b: Builders) => Uint8Array, expected: 'allow' | DropReason];

// The peer may reach port 22 on us, over any protocol with ports, and so may ping us.
const RULES: FilterRule[] = FAMILIES.map((f) => ({
  srcIps: [f.peer],
  dstPorts: [{ ip: f.us, ports: { first: 22, last: 22 } }],
  protocols: [],
}));

interface Setup {
  readonly rules: readonly FilterRule[];
  readonly shieldsUp?: boolean;
  readonly quarantined?: boolean;
}

// Before each case this device has sent on three flows: a TCP connection, a UDP query and a ping.
const ourSyn = (b: Builders) => b.tcp(b.us, b.peer, 40000, 80, SYN);
const ourQuery = (b: Builders) => b.udp(b.us, b.peer, 40000, 53);
const ourPing = (b: Builders) => b.echo(b.us, b.peer, 'request', 7);

function verdictOf(packet: (b: Builders) => Uint8Array, f: Family, setup: Setup): string {
  const filter = new InboundFilter();
  filter.setRules(setup.rules);
  filter.setShieldsUp(setup.shieldsUp ?? false);
  const b = builders(f);
  for (const p of [ourSyn(b), ourQuery(b), ourPing(b)]) filter.outbound(p, 0);
  const verdict = filter.inbound(packet(b), { quarantined: setup.quarantined ?? false }, 1000);
  return verdict.allow ? 'allow' : verdict.reason;
}

function table(setup: Setup, cases: readonly Case[]): void {
  for (const f of FAMILIES) {
    for (const [name, packet, expected] of cases) {
      it(`${f.name}: ${name}`, () => expect(verdictOf(packet, f, setup)).toBe(expected));
    }
  }
}

const DENIED = 'not-allowed-by-policy';

describe('InboundFilter: the server policy decides new connections', () => {
  table({ rules: RULES }, [
    ['TCP SYN to an allowed port', (b) => b.tcp(b.peer, b.us, 50000, 22, SYN), 'allow'],
    ['TCP SYN to another port', (b) => b.tcp(b.peer, b.us, 50000, 23, SYN), DENIED],
    ['TCP SYN from a source no rule lists', (b) => b.tcp(b.other, b.us, 50000, 22, SYN), DENIED],
    ['UDP to an allowed port', (b) => b.udp(b.peer, b.us, 50000, 22), 'allow'],
    ['UDP to another port', (b) => b.udp(b.peer, b.us, 50000, 23), DENIED],
    ['ping from an allowed source', (b) => b.echo(b.peer, b.us, 'request', 1), 'allow'],
    ['ping from another source', (b) => b.echo(b.other, b.us, 'request', 1), DENIED],
    ['GRE, which only a "*" port range admits', (b) => b.gre(b.peer, b.us), DENIED],
    [
      'a later fragment, without ports to judge',
      (b) => fragment(b.udp(b.other, b.us, 1, 23), 100, false),
      'allow',
    ],
    [
      'the first fragment to an allowed port',
      (b) => fragment(b.udp(b.peer, b.us, 50000, 22), 0, true),
      'allow',
    ],
    ['the first fragment to another port', (b) => fragment(b.udp(b.peer, b.us, 50000, 23), 0, true), DENIED],
    [
      'a later TCP fragment at offset 8, which could rewrite the flags',
      (b) => fragment(b.tcp(b.peer, b.us, 50000, 22, ACK), 1, false),
      'malformed',
    ],
    [
      'a first fragment too short for the TCP header',
      (b) => fragment(b.wrap(b.peer, b.us, 6, tcpHeader(50000, 22, ACK).subarray(0, 12)), 0, true),
      'malformed',
    ],
    [
      'a packet cut inside its IP header',
      (b) => b.tcp(b.peer, b.us, 50000, 22, SYN).subarray(0, 16),
      'malformed',
    ],
    ['a UDP header cut short', (b) => b.wrap(b.peer, b.us, 17, new Uint8Array(4)), 'malformed'],
  ]);

  it('admits no new connection until rules are set', () => {
    const b = builders(FAMILIES[0]!);
    const verdict = new InboundFilter().inbound(
      b.tcp(b.peer, b.us, 50000, 22, SYN),
      { quarantined: false },
      0,
    );
    expect(verdict).toEqual({ allow: false, reason: DENIED });
  });

  it('refuses a malformed rule set whole, keeping the rules in force', () => {
    const b = builders(FAMILIES[0]!);
    const filter = new InboundFilter();
    filter.setRules(RULES);
    // Were it half-applied, the first rule would open every port.
    const bad: FilterRule[] = [
      { srcIps: ['*'], dstPorts: [{ ip: '*', ports: { first: 0, last: 65535 } }], protocols: [] },
      { srcIps: ['100.64.0.999/32'], dstPorts: [], protocols: [] },
    ];
    expect(() => filter.setRules(bad)).toThrow();
    expect(filter.inbound(b.tcp(b.peer, b.us, 50000, 22, SYN), { quarantined: false }, 0).allow).toBe(true);
    expect(filter.inbound(b.tcp(b.peer, b.us, 50000, 23, SYN), { quarantined: false }, 0).allow).toBe(false);
  });
});

describe('InboundFilter: replies to our flows pass whatever the policy', () => {
  table({ rules: [] }, [
    ['SYN-ACK answering our SYN', (b) => b.tcp(b.peer, b.us, 80, 40000, SYN | ACK), 'allow'],
    ['a later segment of our connection', (b) => b.tcp(b.peer, b.us, 80, 40000, ACK), 'allow'],
    ['a TCP segment that is not a bare SYN, even untracked', (b) => b.tcp(b.other, b.us, 1, 2, ACK), 'allow'],
    ['an untracked RST', (b) => b.tcp(b.other, b.us, 1, 2, RST), 'allow'],
    ['a bare SYN crossing ours (simultaneous open)', (b) => b.tcp(b.peer, b.us, 80, 40000, SYN), 'allow'],
    ['a bare SYN to a port we did not send from', (b) => b.tcp(b.peer, b.us, 80, 40001, SYN), DENIED],
    ['a SYN with FIN but no ACK counts as a SYN', (b) => b.tcp(b.peer, b.us, 80, 40001, SYN | FIN), DENIED],
    ['a TCP SYN on the ports of our UDP flow', (b) => b.tcp(b.peer, b.us, 53, 40000, SYN), DENIED],
    ['UDP from the address and port we sent to', (b) => b.udp(b.peer, b.us, 53, 40000), 'allow'],
    ['UDP from another port of that address', (b) => b.udp(b.peer, b.us, 54, 40000), DENIED],
    ['UDP from that port of another address', (b) => b.udp(b.other, b.us, 53, 40000), DENIED],
    ['UDP to another of our ports', (b) => b.udp(b.peer, b.us, 53, 40001), DENIED],
    ['echo reply to our ping', (b) => b.echo(b.peer, b.us, 'reply', 7), 'allow'],
    ['echo reply with another identifier', (b) => b.echo(b.peer, b.us, 'reply', 8), DENIED],
    ['echo reply from another address', (b) => b.echo(b.other, b.us, 'reply', 7), DENIED],
    ['echo request from the peer we pinged', (b) => b.echo(b.peer, b.us, 'request', 7), DENIED],
    ['an error about our datagram', (b) => b.error(b.peer, b.us, ourQuery(b)), 'allow'],
    [
      'an error about our datagram from a router on the path',
      (b) => b.error(b.other, b.us, ourQuery(b)),
      'allow',
    ],
    [
      'packet too big for a segment of our connection',
      (b) => b.error(b.peer, b.us, b.tcp(b.us, b.peer, 40000, 80, ACK), b.tooBig),
      'allow',
    ],
    ['an error about our ping', (b) => b.error(b.peer, b.us, ourPing(b)), 'allow'],
    [
      'an error about a datagram we never sent',
      (b) => b.error(b.peer, b.us, b.udp(b.us, b.peer, 1, 53)),
      DENIED,
    ],
    [
      'an error about our datagram, sent to another address',
      (b) => b.error(b.peer, b.other, ourQuery(b)),
      DENIED,
    ],
  ]);
});

describe('InboundFilter: Shields Up refuses every new connection, even those the policy allows', () => {
  table({ rules: RULES, shieldsUp: true }, [
    ['ping to us', (b) => b.echo(b.peer, b.us, 'request', 7), 'shields-up'],
    ["our ping's reply", (b) => b.echo(b.peer, b.us, 'reply', 7), 'allow'],
    ['their TCP SYN', (b) => b.tcp(b.peer, b.us, 50000, 22, SYN), 'shields-up'],
    ['SYN-ACK to our SYN', (b) => b.tcp(b.peer, b.us, 80, 40000, SYN | ACK), 'allow'],
    ['later segments', (b) => b.tcp(b.peer, b.us, 80, 40000, ACK), 'allow'],
    ['UDP reply', (b) => b.udp(b.peer, b.us, 53, 40000), 'allow'],
    ['UDP from another port', (b) => b.udp(b.peer, b.us, 22, 40000), 'shields-up'],
    ['a new UDP flow', (b) => b.udp(b.peer, b.us, 50000, 22), 'shields-up'],
    ['an error about our datagram', (b) => b.error(b.peer, b.us, ourQuery(b)), 'allow'],
    ['GRE', (b) => b.gre(b.peer, b.us), 'shields-up'],
    ['a later fragment', (b) => fragment(b.udp(b.peer, b.us, 1, 22), 100, false), 'allow'],
  ]);

  it('lets the policy decide again once off', () => {
    const b = builders(FAMILIES[1]!);
    const filter = new InboundFilter();
    filter.setRules(RULES);
    filter.setShieldsUp(true);
    filter.setShieldsUp(false);
    expect(filter.inbound(b.tcp(b.peer, b.us, 50000, 22, SYN), { quarantined: false }, 0).allow).toBe(true);
  });
});

describe('InboundFilter: a quarantined peer starts no connection, even those the policy allows', () => {
  table({ rules: RULES, quarantined: true }, [
    ['ping', (b) => b.echo(b.peer, b.us, 'request', 7), 'quarantined'],
    ['TCP SYN', (b) => b.tcp(b.peer, b.us, 50000, 22, SYN), 'quarantined'],
    ['a new UDP flow', (b) => b.udp(b.peer, b.us, 50000, 22), 'quarantined'],
    ['UDP reply', (b) => b.udp(b.peer, b.us, 53, 40000), 'allow'],
    ['SYN-ACK to our SYN', (b) => b.tcp(b.peer, b.us, 80, 40000, SYN | ACK), 'allow'],
    ['echo reply', (b) => b.echo(b.peer, b.us, 'reply', 7), 'allow'],
  ]);

  it('names Shields Up when both apply', () => {
    const setup = { rules: RULES, shieldsUp: true, quarantined: true };
    expect(verdictOf((b) => b.tcp(b.peer, b.us, 50000, 22, SYN), FAMILIES[0]!, setup)).toBe('shields-up');
  });
});
