import { describe, expect, it } from 'vitest';
import { compareTai64n, encodeTai64n, TAI64N_LENGTH } from './tai64n.js';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

describe('encodeTai64n', () => {
  it.each([
    // Unix epoch: 2^62 + 10 seconds, 0 ns.
    [0, '400000000000000a', '00000000'],
    // 2023-11-14T22:13:20.123Z: 123 ms = 123,000,000 ns, whitened down to 7 × 2^24.
    [1_700_000_000_123, '400000006553f10a', '07000000'],
    // The last whitening step of a second: 999 ms = 59 × 2^24 + remainder.
    [999, '400000000000000a', '3b000000'],
    // Just below and at one step (2^24 ns = 16.777216 ms).
    [16, '400000000000000a', '00000000'],
    [17, '400000000000000a', '01000000'],
    // Before the epoch: -1 ms is second -1 plus 999 ms.
    [-1, '4000000000000009', '3b000000'],
    [-10_000, '4000000000000000', '00000000'],
    // Seconds beyond 32 bits carry into the upper word.
    [(2 ** 32 - 10) * 1000, '4000000100000000', '00000000'],
    [(2 ** 40 + 5) * 1000 + 500, '400001000000000f', '1d000000'],
  ])('%d ms -> %s %s', (ms, seconds, nanos) => {
    const stamp = encodeTai64n(ms);
    expect(stamp.length).toBe(TAI64N_LENGTH);
    expect(hex(stamp)).toBe(seconds + nanos);
  });

  it('keeps the nanoseconds a multiple of 2^24 below one second', () => {
    const wrong: number[] = [];
    for (let ms = 0; ms < 3000; ms += 0.25) {
      const stamp = encodeTai64n(1_700_000_000_000 + ms);
      const nanos = new DataView(stamp.buffer).getUint32(8);
      const exact = (ms % 1000) * 1e6;
      if (nanos % 2 ** 24 !== 0 || nanos > exact || exact - nanos >= 2 ** 24) wrong.push(ms);
    }
    expect(wrong).toEqual([]);
  });

  it('writes into a caller-supplied buffer', () => {
    const out = new Uint8Array(16).fill(0xee);
    expect(encodeTai64n(0, out)).toBe(out);
    expect(hex(out)).toBe('400000000000000a00000000eeeeeeee');
  });

  it('rejects bad arguments with a RangeError', () => {
    expect(() => encodeTai64n(Number.NaN)).toThrow(/finite/);
    expect(() => encodeTai64n(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => encodeTai64n(0, new Uint8Array(11))).toThrow(/12 bytes, got 11/);
  });
});

describe('compareTai64n', () => {
  it('orders timestamps by time', () => {
    const a = encodeTai64n(1_700_000_000_000);
    const b = encodeTai64n(1_700_000_000_020);
    const c = encodeTai64n(1_700_000_001_000);
    expect(compareTai64n(a, b)).toBe(-1);
    expect(compareTai64n(b, a)).toBe(1);
    expect(compareTai64n(b, c)).toBe(-1);
    expect(compareTai64n(a, Uint8Array.from(a))).toBe(0);
  });

  it('cannot tell apart times within one whitening step', () => {
    expect(compareTai64n(encodeTai64n(1_700_000_000_001), encodeTai64n(1_700_000_000_016))).toBe(0);
  });

  it('gives initiations 20 ms apart increasing stamps', () => {
    // WireGuard sends at most one initiation per 20 ms; each must be newer than the last.
    let previous = encodeTai64n(1_700_000_000_000);
    for (let ms = 20; ms < 5000; ms += 20) {
      const next = encodeTai64n(1_700_000_000_000 + ms + (ms % 7) / 10);
      expect(compareTai64n(next, previous)).toBe(1);
      previous = next;
    }
  });

  it('agrees with numeric order, including across the epoch and the 32-bit boundary', () => {
    const times = [-5_000_000, -1, 0, 999, 1000, 4_294_967_286_000, 4_294_967_296_000, 1_700_000_000_000];
    for (const x of times) {
      for (const y of times) {
        expect(compareTai64n(encodeTai64n(x), encodeTai64n(y))).toBe(Math.sign(x - y));
      }
    }
  });

  it('compares bytes as unsigned and big-endian', () => {
    const a = new Uint8Array(12);
    const b = new Uint8Array(12);
    a[11] = 0xff;
    b[0] = 0x01;
    expect(compareTai64n(a, b)).toBe(-1);
    expect(compareTai64n(b, a)).toBe(1);
  });

  it('rejects short inputs', () => {
    expect(() => compareTai64n(new Uint8Array(12), new Uint8Array(4))).toThrow(/12 bytes, got 12 and 4/);
  });
});
