import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { FlowKey, FlowTable } from './flow-table.js';
import { ICMP, TCP, UDP } from './packet-fields.js';

const TIMEOUTS = { tcp: 50, udp: 30, icmp: 10 };
const PROTOCOLS = [TCP, UDP, ICMP];

/** A key for local address `local` and remote address `remote`, both filled with one byte value. */
function keyOf(
  protocol: number,
  local: number,
  remote: number,
  localPort: number,
  remotePort: number,
  length: 4 | 16 = 16,
) {
  const buffer = new Uint8Array(32);
  buffer.fill(local, 0, length);
  buffer.fill(remote, 16, 16 + length);
  return new FlowKey().set(protocol, buffer, 0, 16, length, localPort, remotePort);
}

describe('FlowTable', () => {
  it('finds a recorded flow until it has idled for its protocol timeout', () => {
    const table = new FlowTable(16, TIMEOUTS);
    for (const protocol of PROTOCOLS) table.record(keyOf(protocol, 1, 2, 3, 4), 100);
    for (const [protocol, timeout] of [
      [TCP, 50],
      [UDP, 30],
      [ICMP, 10],
    ] as const) {
      expect(table.has(keyOf(protocol, 1, 2, 3, 4), 100 + timeout - 1)).toBe(true);
      expect(table.has(keyOf(protocol, 1, 2, 3, 4), 100 + timeout)).toBe(false);
    }
  });

  it('tells flows apart by every field', () => {
    const table = new FlowTable(16, TIMEOUTS);
    table.record(keyOf(UDP, 1, 2, 3, 4), 0);
    expect(table.has(keyOf(UDP, 1, 2, 3, 4), 0)).toBe(true);
    for (const other of [
      keyOf(TCP, 1, 2, 3, 4),
      keyOf(UDP, 2, 1, 3, 4),
      keyOf(UDP, 1, 2, 4, 3),
      keyOf(UDP, 1, 3, 3, 4),
      keyOf(UDP, 1, 2, 3, 5),
      keyOf(UDP, 1, 2, 3, 4, 4), // the same leading bytes, as IPv4 addresses
    ]) {
      expect(table.has(other, 0)).toBe(false);
    }
  });

  it('extends a flow on renew and record, and only a live one on renew', () => {
    const table = new FlowTable(16, TIMEOUTS);
    const key = keyOf(UDP, 1, 2, 3, 4);
    table.record(key, 0);
    expect(table.renew(key, 29)).toBe(true);
    expect(table.has(key, 58)).toBe(true);
    expect(table.renew(key, 59)).toBe(false);
    table.record(key, 59);
    expect(table.has(key, 88)).toBe(true);
  });

  it('grows to hold many flows, up to its capacity', () => {
    const table = new FlowTable(5000, TIMEOUTS);
    for (let i = 0; i < 4000; i++) table.record(keyOf(TCP, i & 0xff, i >> 8, i, 80), 0);
    expect(table.size).toBe(4000);
    for (let i = 0; i < 4000; i++) expect(table.has(keyOf(TCP, i & 0xff, i >> 8, i, 80), 0)).toBe(true);
    for (let i = 4000; i < 6000; i++) table.record(keyOf(TCP, i & 0xff, i >> 8, i, 80), 0);
    expect(table.size).toBe(5000);
    // The oldest went first.
    expect(table.has(keyOf(TCP, 0, 0, 0, 80), 0)).toBe(false);
    expect(table.has(keyOf(TCP, 999 & 0xff, 999 >> 8, 999, 80), 0)).toBe(false);
    expect(table.has(keyOf(TCP, 1000 & 0xff, 1000 >> 8, 1000, 80), 0)).toBe(true);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new FlowTable(0)).toThrow(RangeError);
  });

  // Small: evicts all the time. Large: grows past its first allocation while evicting and reclaiming.
  it.each([
    { capacity: 8, keys: [2, 3, 4, 3], tick: 0.6 },
    { capacity: 300, keys: [4, 4, 16, 8], tick: 0.02 },
  ])('behaves as a simple model under random use, capacity $capacity', ({ capacity, keys, tick }) => {
    // The model: expired flows are dropped before a new one is added, and a full table drops the
    // flow expiring first (ties: TCP, UDP, ICMP; then the least recently used).
    interface Entry {
      deadline: number;
      kind: number;
      used: number;
    }
    const timeouts = [TIMEOUTS.tcp, TIMEOUTS.udp, TIMEOUTS.icmp];
    const table = new FlowTable(capacity, TIMEOUTS);
    const model = new Map<string, Entry>();
    const rng = new Rng(7);
    let now = 0;
    let uses = 0;
    for (let step = 0; step < 40_000; step++) {
      if (rng.chance(tick)) now += 1 + rng.int(3);
      const kind = rng.int(3);
      const fields = [
        1 + rng.int(keys[0]!),
        1 + rng.int(keys[1]!),
        rng.int(keys[2]!),
        rng.int(keys[3]!),
      ] as const;
      const name = `${kind}:${fields.join(':')}`;
      const key = keyOf(PROTOCOLS[kind]!, ...fields);
      const entry = model.get(name);
      const live = entry !== undefined && entry.deadline > now;
      const op = rng.int(3);
      if (op === 0) {
        expect(table.has(key, now)).toBe(live);
      } else if (op === 1) {
        expect(table.renew(key, now)).toBe(live);
        if (live) Object.assign(entry, { deadline: now + timeouts[kind]!, used: ++uses });
      } else {
        table.record(key, now);
        if (entry !== undefined) {
          Object.assign(entry, { deadline: now + timeouts[kind]!, used: ++uses });
        } else {
          for (const [k, e] of model) if (e.deadline <= now) model.delete(k);
          if (model.size === capacity) {
            const order = [...model].sort(
              ([, a], [, b]) => a.deadline - b.deadline || a.kind - b.kind || a.used - b.used,
            );
            model.delete(order[0]![0]);
          }
          model.set(name, { deadline: now + timeouts[kind]!, kind, used: ++uses });
        }
      }
      expect(table.size).toBe(model.size);
    }
  });
});
