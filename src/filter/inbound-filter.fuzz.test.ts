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
import { InboundFilter } from './inbound-filter.js';
import { DROP_REASONS, type DropReason } from './verdict.js';

const PACKETS = 100_000;

const FAMILIES = [
  { us: '100.64.0.1', peer: '100.64.0.2', icmp: 1, request: 8, reply: 0, error: 3, header: 20, ip: ipv4 },
  {
    us: 'fd7a:115c:a1e0::1',
    peer: 'fd7a:115c:a1e0::2',
    icmp: 58,
    request: 128,
    reply: 129,
    error: 1,
    header: 40,
    ip: ipv6,
  },
];

/** Real packets to mutate: what we send, and what the peer sends, replies and new flows alike. */
function corpus(): { outbound: Uint8Array[]; inbound: Uint8Array[] } {
  const outbound: Uint8Array[] = [];
  const inbound: Uint8Array[] = [];
  for (const { us, peer, icmp, request, reply, error, header, ip } of FAMILIES) {
    const query = ip(us, peer, udpDatagram(40000, 53), 17);
    outbound.push(
      query,
      ip(us, peer, tcpHeader(40001, 80, SYN), 6),
      ip(us, peer, icmpMessage(request, 7), icmp),
    );
    inbound.push(
      ip(peer, us, udpDatagram(53, 40000), 17),
      ip(peer, us, udpDatagram(5000, 22), 17),
      ip(peer, us, tcpHeader(80, 40001, SYN | ACK), 6),
      ip(peer, us, tcpHeader(5000, 22, SYN), 6),
      ip(peer, us, icmpMessage(reply, 7), icmp),
      ip(peer, us, icmpMessage(request, 7), icmp),
      ip(peer, us, icmpMessage(error, 0, query.subarray(0, header + 8)), icmp),
      fragment(ip(peer, us, udpDatagram(5000, 22, 64), 17), 0, true),
      fragment(ip(peer, us, tcpHeader(5000, 22, ACK), 6), 2, false),
      ip(peer, us, new Uint8Array(24), 47),
    );
  }
  // IPv6 behind a hop-by-hop header, so mutations reach the extension header walk.
  inbound.push(
    ipv6(
      FAMILIES[1]!.peer,
      FAMILIES[1]!.us,
      new Uint8Array([6, 0, 1, 4, 0, 0, 0, 0, ...tcpHeader(5000, 22, SYN)]),
      0,
    ),
  );
  return { outbound, inbound };
}

function mutate(rng: Rng, base: Uint8Array): Uint8Array {
  const mode = rng.int(4);
  if (mode === 0) {
    // Random bytes, usually behind a plausible first byte.
    const bytes = rng.bytes(rng.int(120));
    if (bytes.length > 0 && rng.chance(0.7)) bytes[0] = rng.pick([0x45, 0x46, 0x4f, 0x60]);
    return bytes;
  }
  if (mode === 3) return base;
  let out = base.slice();
  if (mode === 1) {
    // A few bytes changed, mostly in the headers, where the lengths and types are.
    for (let n = 1 + rng.int(4); n > 0; n--) {
      const at = rng.chance(0.8) ? rng.int(Math.min(out.length, 64)) : rng.int(out.length);
      out[at] = rng.chance(0.5) ? rng.u32() & 0xff : out[at]! ^ (1 << rng.int(8));
    }
  } else if (rng.chance(0.5)) {
    out = out.subarray(0, rng.int(out.length + 1));
  } else {
    const longer = new Uint8Array(out.length + rng.int(40));
    longer.set(out);
    out = longer;
  }
  // Sometimes the packet sits inside a larger buffer, as when read from a batch.
  if (rng.chance(0.2)) {
    const shift = 1 + rng.int(7);
    const buffer = new Uint8Array(out.length + shift).fill(0xaa);
    buffer.set(out, shift);
    return buffer.subarray(shift);
  }
  return out;
}

describe('InboundFilter: fuzzing', () => {
  it(`survives ${PACKETS} random and mutated packets, with a reason and a count for every drop`, () => {
    const { outbound, inbound } = corpus();
    const rng = new Rng(2024);
    const filter = new InboundFilter({ flowCapacity: 512 });
    filter.setRules(
      FAMILIES.map((f) => ({
        srcIps: [f.peer],
        dstPorts: [{ ip: f.us, ports: { first: 22, last: 22 } }],
        protocols: [],
      })),
    );
    const tally = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
    let allowed = 0;
    let dropped = 0;
    let now = 0;
    for (let i = 0; i < PACKETS; i++) {
      now += rng.int(500);
      if (rng.chance(0.001)) filter.setShieldsUp(rng.chance(0.5));
      if (rng.chance(0.1)) {
        filter.outbound(mutate(rng, rng.pick(outbound)), now);
        continue;
      }
      const verdict = filter.inbound(mutate(rng, rng.pick(inbound)), { quarantined: rng.chance(0.2) }, now);
      if (verdict.allow) {
        allowed++;
        continue;
      }
      expect(DROP_REASONS).toContain(verdict.reason);
      tally[verdict.reason]++;
      dropped++;
    }
    expect(filter.drops).toEqual(tally);
    expect(Object.values(filter.drops).reduce((a, b) => a + b, 0)).toBe(dropped);
    // The mix reaches every outcome, so the run exercised each path rather than bouncing off one.
    expect(allowed).toBeGreaterThan(PACKETS / 20);
    for (const reason of DROP_REASONS) expect(tally[reason]).toBeGreaterThan(100);
  });
});
