import { describe, expect, it } from 'vitest';
import { AttemptLimiter } from './attempt-limiter.js';

const limiter = (maxEntries = 100) =>
  new AttemptLimiter({ free: 3, baseDelayMs: 1000, maxDelayMs: 8000, forgetAfterMs: 60_000, maxEntries });

describe('attempt limiter', () => {
  it('allows the free attempts, then makes each further one wait twice as long, up to the cap', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) expect(l.take(['a'], 0)).toBe(0);
    expect(l.take(['a'], 0)).toBe(1000);
    expect(l.take(['a'], 999)).toBe(1);
    expect(l.take(['a'], 1000)).toBe(0); // the 4th attempt
    expect(l.take(['a'], 1000)).toBe(2000);
    expect(l.take(['a'], 3000)).toBe(0);
    expect(l.take(['a'], 3000)).toBe(4000);
    expect(l.take(['a'], 7000)).toBe(0);
    expect(l.take(['a'], 7000)).toBe(8000);
    expect(l.take(['a'], 15_000)).toBe(0);
    expect(l.take(['a'], 15_000)).toBe(8000); // capped
  });

  it('counts a burst of parallel attempts as it would a sequence', () => {
    const l = limiter();
    const answers = Array.from({ length: 10 }, () => l.take(['a'], 0));
    expect(answers.filter((w) => w === 0)).toHaveLength(3);
  });

  it('keys are separate; a refused attempt records nothing for the other keys', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.take(['a'], 0);
    expect(l.take(['a', 'b'], 0)).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(l.take(['b'], 0)).toBe(0);
  });

  it('a success, or a long quiet, starts a key afresh', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.take(['a', 'b'], 0);
    l.succeed(['a']);
    expect(l.take(['a'], 0)).toBe(0);
    expect(l.take(['b'], 0)).toBeGreaterThan(0);
    expect(l.take(['b'], 60_001)).toBe(0);
  });

  it('stays within its size, evicting the key touched longest ago, not one still being guessed', () => {
    const l = limiter(10);
    for (let i = 0; i < 3; i++) l.take(['target'], 0);
    for (let i = 0; i < 1000; i++) {
      l.take([`spray-${i}`], 0);
      l.take(['target'], 0); // refused, but still the key the attacker keeps at
      expect(l.size).toBeLessThanOrEqual(10);
    }
    expect(l.take(['target'], 0)).toBeGreaterThan(0);
  });
});
