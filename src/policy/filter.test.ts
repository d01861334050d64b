import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { type FilterRule, matchesFilter, PacketFilter } from './filter.js';
import { containsAddress, parseAddress, parsePrefix } from './prefix.js';
import { portsAdmit } from './protocol.js';

const RULES: FilterRule[] = [
  {
    srcIps: ['100.64.0.1/32', '100.64.1.0/24', 'fd7a:115c:a1e0::1/128'],
    dstPorts: [
      { ip: '100.64.0.10/32', ports: { first: 22, last: 22 } },
      { ip: 'fd7a:115c:a1e0::a/128', ports: { first: 8000, last: 8099 } },
    ],
    protocols: [6],
  },
  {
    srcIps: ['0.0.0.0/0', '::/0'],
    dstPorts: [{ ip: '*', ports: { first: 443, last: 443 } }],
    protocols: [],
  },
  {
    srcIps: ['*'],
    dstPorts: [{ ip: '10.1.0.0/16', ports: { first: 0, last: 65535 } }],
    protocols: [47],
  },
];

describe('matchesFilter', () => {
  it.each<[string, string, string, number, number, boolean]>([
    ['listed source, port and protocol', '100.64.0.1', '100.64.0.10', 22, 6, true],
    ['a source inside a listed prefix', '100.64.1.77', '100.64.0.10', 22, 6, true],
    ['an unlisted source', '100.64.0.2', '100.64.0.10', 22, 6, false],
    ['another port', '100.64.0.1', '100.64.0.10', 23, 6, false],
    ['another protocol', '100.64.0.1', '100.64.0.10', 22, 17, false],
    ['IPv6, within a port range', 'fd7a:115c:a1e0::1', 'fd7a:115c:a1e0::a', 8099, 6, true],
    ['IPv6, past the range', 'fd7a:115c:a1e0::1', 'fd7a:115c:a1e0::a', 8100, 6, false],
    ['a destination of "*"', '192.0.2.1', '100.64.0.99', 443, 17, true],
    ['ICMP ignores the ports', '192.0.2.1', '100.64.0.99', 0, 1, true],
    ['ICMPv6 too', '2001:db8::1', 'fd7a:115c:a1e0::1', 0, 58, true],
    ['GRE to a destination with all ports', '100.64.0.5', '10.1.9.9', 0, 47, true],
    ['GRE outside that destination', '100.64.0.5', '10.2.0.1', 0, 47, false],
    ['GRE where only some ports are open', '100.64.0.1', '100.64.0.10', 22, 50, false],
  ])('%s', (_, src, dst, port, proto, expected) => {
    expect(matchesFilter(RULES, src, dst, port, proto)).toBe(expected);
  });

  it('denies everything with no rules', () => {
    expect(matchesFilter([], '100.64.0.1', '100.64.0.2', 22, 6)).toBe(false);
  });

  it('refuses a malformed filter as a whole', () => {
    const rule = (fields: Partial<FilterRule>): FilterRule[] => [
      { srcIps: ['*'], dstPorts: [{ ip: '*', ports: { first: 0, last: 0 } }], protocols: [], ...fields },
    ];
    expect(() => new PacketFilter(rule({ srcIps: ['100.64.0.1/33'] }))).toThrow(
      '"100.64.0.1/33" is not a valid IP address or CIDR',
    );
    expect(
      () => new PacketFilter(rule({ dstPorts: [{ ip: '10.0.0.1/8', ports: { first: 1, last: 1 } }] })),
    ).toThrow('has host bits set');
    expect(() => new PacketFilter(rule({ dstPorts: [{ ip: '*', ports: { first: 9, last: 8 } }] }))).toThrow(
      'port range 9-8 is not valid',
    );
    expect(() => new PacketFilter(rule({ protocols: [256] }))).toThrow('protocol 256 is not 0-255');
  });

  it('reads addresses in place from packet bytes', () => {
    const filter = new PacketFilter(RULES);
    const packet = new Uint8Array(20);
    packet.set([100, 64, 1, 5], 12);
    packet.set([100, 64, 0, 10], 16);
    expect(filter.allows(packet.subarray(12, 16), packet.subarray(16, 20), 22, 6)).toBe(true);
  });

  it('agrees with a plain reading of the rules on random rules and packets', () => {
    const rng = new Rng(11);
    // Addresses in a small space, so that sources and destinations often fall in the rules' prefixes.
    const v4 = (last: number) => `100.64.${rng.int(2)}.${last}`;
    const v6 = (last: number) => `fd7a:115c:a1e0::${rng.int(2)}:${last.toString(16)}`;
    const addr = () => (rng.chance(0.5) ? v4(rng.int(8)) : v6(rng.int(8)));
    const cidr = () => {
      const hostBits = rng.chance(0.5) ? 0 : rng.int(4);
      const last = rng.int(8) & ~((1 << hostBits) - 1);
      return rng.chance(0.5) ? `${v4(last)}/${32 - hostBits}` : `${v6(last)}/${128 - hostBits}`;
    };
    for (let round = 0; round < 200; round++) {
      const rules: FilterRule[] = Array.from({ length: 1 + rng.int(4) }, () => ({
        srcIps: Array.from({ length: rng.int(6) }, cidr),
        dstPorts: Array.from({ length: 1 + rng.int(3) }, () => {
          const first = rng.int(5);
          return { ip: rng.chance(0.2) ? '*' : cidr(), ports: { first, last: first + rng.int(3) } };
        }),
        protocols: rng.chance(0.5) ? [] : [[6, 17, 1, 47][rng.int(4)]!],
      }));
      for (let i = 0; i < 100; i++) {
        const src = addr();
        const dst = addr();
        const port = rng.int(8);
        const proto = [6, 17, 1, 58, 47][rng.int(5)]!;
        const a = (text: string) => parseAddress(text).addr;
        const plain = rules.some(
          (r) =>
            (r.protocols.length === 0 || r.protocols.includes(proto)) &&
            r.srcIps.some((s) => containsAddress(parsePrefix(s), a(src))) &&
            r.dstPorts.some(
              (d) =>
                (d.ip === '*' || containsAddress(parsePrefix(d.ip), a(dst))) &&
                portsAdmit(proto, port, d.ports.first, d.ports.last),
            ),
        );
        expect(matchesFilter(rules, src, dst, port, proto)).toBe(plain);
      }
    }
  });
});
