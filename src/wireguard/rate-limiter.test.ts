import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

/** How many of `n` packets sent at the same instant get through. */
function burst(limiter: RateLimiter, source: string, now: number, n: number): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (limiter.allow(source, now)) allowed++;
  return allowed;
}

describe('RateLimiter', () => {
  it('allows a burst of 5, then refuses', () => {
    const limiter = new RateLimiter();
    const verdicts = Array.from({ length: 8 }, () => limiter.allow('198.51.100.1', 1000));
    expect(verdicts).toEqual([true, true, true, true, true, false, false, false]);
  });

  it('refills at 20 packets per second', () => {
    const limiter = new RateLimiter();
    const t0 = 5000;
    expect(burst(limiter, 'a', t0, 10)).toBe(5);
    // One token every 50 ms.
    expect(limiter.allow('a', t0 + 49)).toBe(false);
    expect(limiter.allow('a', t0 + 50)).toBe(true);
    expect(limiter.allow('a', t0 + 50)).toBe(false);
    expect(burst(limiter, 'a', t0 + 150, 10)).toBe(2);
    // A steady 20/s stream gets everything through; 40/s gets half.
    let allowed = 0;
    for (let t = t0 + 200; t < t0 + 10_200; t += 50) allowed += limiter.allow('a', t) ? 1 : 0;
    expect(allowed).toBe(200);
    allowed = 0;
    for (let t = t0 + 20_000; t < t0 + 30_000; t += 25) allowed += limiter.allow('b', t) ? 1 : 0;
    expect(allowed).toBeGreaterThanOrEqual(200);
    expect(allowed).toBeLessThanOrEqual(205); // 200 from the rate plus at most the burst
  });

  it('never stores more than the burst', () => {
    const limiter = new RateLimiter();
    expect(burst(limiter, 'a', 0, 5)).toBe(5);
    expect(burst(limiter, 'a', 900, 100)).toBe(5);
    expect(burst(limiter, 'a', 1_000_000, 100)).toBe(5);
  });

  it('keeps sources independent', () => {
    const limiter = new RateLimiter();
    expect(burst(limiter, '192.0.2.1', 0, 10)).toBe(5);
    expect(burst(limiter, '192.0.2.2', 0, 10)).toBe(5);
    expect(limiter.allow('192.0.2.1', 10)).toBe(false);
    expect(limiter.allow('2001:db8::/64', 10)).toBe(true);
  });

  it('honours custom rates and bursts', () => {
    const limiter = new RateLimiter({ packetsPerSecond: 3, burst: 2 });
    expect(burst(limiter, 'a', 0, 5)).toBe(2);
    // 1000/3 ms per packet: fractional costs are still exact.
    expect(limiter.allow('a', 333)).toBe(false);
    expect(limiter.allow('a', 334)).toBe(true);
    expect(burst(limiter, 'a', 1000, 5)).toBe(2);
  });

  it('does not drain a bucket when the clock steps back', () => {
    const limiter = new RateLimiter();
    expect(burst(limiter, 'a', 10_000, 3)).toBe(3);
    expect(limiter.allow('a', 9_000)).toBe(true);
    expect(limiter.allow('a', 9_000)).toBe(true);
    expect(limiter.allow('a', 9_000)).toBe(false);
  });

  it('sweeps sources idle for more than a second', () => {
    const limiter = new RateLimiter();
    for (let i = 0; i < 1000; i++) limiter.allow(`10.0.${i >> 8}.${i & 255}`, 0);
    expect(limiter.size).toBe(1000);
    limiter.allow('keep', 600);
    limiter.sweep(1000);
    expect(limiter.size).toBe(1001); // exactly 1 s idle is not yet "more than"
    limiter.sweep(1001);
    expect(limiter.size).toBe(1);
    limiter.sweep(1601);
    expect(limiter.size).toBe(0);
  });

  it('sweeps lazily from allow, at most once a second', () => {
    const limiter = new RateLimiter();
    limiter.allow('a', 0);
    limiter.allow('b', 500);
    limiter.allow('c', 1500); // sweeps: 'a' is 1500 ms idle
    expect(limiter.size).toBe(2);
    limiter.allow('d', 2400); // within a second of the last sweep: nothing is dropped
    expect(limiter.size).toBe(3);
    limiter.allow('e', 2600); // sweeps: 'b' and 'c' are over a second idle
    expect(limiter.size).toBe(2);
  });

  it('only forgets a bucket once it has refilled, so sweeping never changes a verdict', () => {
    // 1 packet/s with a burst of 3 needs 3 s to refill: idle sources are kept that long, not 1 s.
    const limiter = new RateLimiter({ packetsPerSecond: 1, burst: 3 });
    const times = [0, 0, 0, 0, 1500, 1600, 2100, 3200, 3200, 3200, 6300, 6300, 6300, 6300];
    const verdicts = times.map((t) => {
      limiter.sweep(t);
      return limiter.allow('s', t);
    });
    // The same as a bucket that is never forgotten: 1 token per second, at most 3.
    expect(verdicts).toEqual([
      true,
      true,
      true,
      false,
      true,
      false,
      true,
      true,
      false,
      false,
      true,
      true,
      true,
      false,
    ]);
  });

  it('refuses new sources when the table is full, and recovers after a sweep', () => {
    const limiter = new RateLimiter({ maxEntries: 100 });
    for (let i = 0; i < 100; i++) expect(limiter.allow(`flood-${i}`, 0)).toBe(true);
    expect(limiter.allow('newcomer', 10)).toBe(false);
    expect(limiter.allow('flood-7', 10)).toBe(true); // known sources keep their buckets
    expect(limiter.size).toBe(100);
    expect(limiter.allow('newcomer', 1100)).toBe(true);
    expect(limiter.size).toBe(1);
  });

  it('stays bounded under a flood of distinct sources', () => {
    const limiter = new RateLimiter({ maxEntries: 5000 });
    let peak = 0;
    for (let i = 0; i < 200_000; i++) {
      limiter.allow(`src-${i}`, i / 20); // 20,000 new sources per second for 10 s
      peak = Math.max(peak, limiter.size);
    }
    expect(peak).toBe(5000);
    // Once the flood stops, the table drains and new sources are admitted again.
    expect(limiter.allow('late', 10_000 + 1500)).toBe(true);
    expect(limiter.size).toBe(1);
  });

  it('validates its options', () => {
    expect(() => new RateLimiter({ packetsPerSecond: 0 })).toThrow(
      /packetsPerSecond must be a positive number, got 0/,
    );
    expect(() => new RateLimiter({ packetsPerSecond: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => new RateLimiter({ burst: 0 })).toThrow(/burst must be a positive integer, got 0/);
    expect(() => new RateLimiter({ burst: 1.5 })).toThrow(RangeError);
    expect(() => new RateLimiter({ maxEntries: -1 })).toThrow(/maxEntries/);
  });
});
