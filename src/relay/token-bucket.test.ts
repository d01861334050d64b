import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('allows the burst, then says how long until the rate allows more', () => {
    const bucket = new TokenBucket(1000, 100, 0);
    expect(bucket.wait(100, 0)).toBe(0);
    bucket.spend(100);
    expect(bucket.wait(50, 0)).toBe(50);
    expect(bucket.wait(50, 50)).toBe(0);
    bucket.spend(50);
    // Never more than the burst, however long it was idle.
    expect(bucket.wait(101, 10_000)).toBe(0);
    bucket.spend(100);
    expect(bucket.wait(1, 10_000)).toBe(1);
  });

  it('lets a cost above the burst through when full, leaving a debt', () => {
    const bucket = new TokenBucket(1000, 10, 0);
    expect(bucket.wait(500, 0)).toBe(0);
    bucket.spend(500);
    expect(bucket.wait(1, 0)).toBe(491);
    expect(bucket.wait(1, 491)).toBe(0);
  });

  it('is not drained by a clock stepping back, and refuses nonsense rates', () => {
    const bucket = new TokenBucket(1000, 10, 100);
    bucket.spend(10);
    expect(bucket.wait(10, 50)).toBe(10);
    expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(Number.POSITIVE_INFINITY, 1, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0, 0)).toThrow(RangeError);
  });
});
