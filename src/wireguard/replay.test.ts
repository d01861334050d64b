import { describe, expect, it } from 'vitest';
import { replayWindow } from '../../test/support/replay-window.js';
import { prng } from '../../test/support/rng.js';
import { REPLAY_WINDOW_SIZE } from './replay.js';

const W = REPLAY_WINDOW_SIZE;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** The rule the filter promises, stated with a Set of everything accepted. */
class Reference {
  private highest = 0;
  private readonly seen = new Set<number>();

  accept(counter: number, limit: number): boolean {
    if (counter >= limit) return false;
    if (counter <= this.highest && this.highest - counter > W) return false;
    if (this.seen.has(counter)) return false;
    this.seen.add(counter);
    if (counter > this.highest) this.highest = counter;
    return true;
  }
}

/** Feeds counters to a fresh filter and returns its verdicts. */
function run(counters: number[], limit = NO_LIMIT): boolean[] {
  const filter = replayWindow.make();
  return counters.map((c) => filter.accept(c, limit));
}

describe('ReplayFilter', () => {
  it('has the WireGuard window of (128 - 1) * 64', () => {
    expect(W).toBe(8128);
  });

  it('accepts counters in order, starting at 0', () => {
    const filter = replayWindow.make();
    const refused: number[] = [];
    for (let c = 0; c < 20_000; c++) if (!filter.accept(c, NO_LIMIT)) refused.push(c);
    expect(refused).toEqual([]);
  });

  it('rejects duplicates', () => {
    expect(run([0, 0, 1, 1, 5, 5, 3, 3, 0])).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
      true,
      false,
      false,
    ]);
  });

  it('accepts reordering inside the window', () => {
    const counters = [10, 5, 7, 6, 9, 8, 0, 1, 2, 3, 4];
    expect(run(counters)).toEqual(counters.map(() => true));
    const filter = replayWindow.make();
    expect(filter.accept(W + 100, NO_LIMIT)).toBe(true);
    const wrong: number[] = [];
    for (let c = W + 99; c >= 100; c--) if (!filter.accept(c, NO_LIMIT)) wrong.push(c);
    for (let c = 100; c <= W + 100; c++) if (filter.accept(c, NO_LIMIT)) wrong.push(c);
    expect(wrong).toEqual([]);
  });

  it('accepts exactly 8128 behind the highest, and nothing further', () => {
    const highest = 3 * W + 17;
    const filter = replayWindow.make();
    expect(filter.accept(highest, NO_LIMIT)).toBe(true);
    expect(filter.accept(highest - W - 1, NO_LIMIT)).toBe(false);
    expect(filter.accept(highest - W, NO_LIMIT)).toBe(true);
    expect(filter.accept(highest - W, NO_LIMIT)).toBe(false);
    expect(filter.accept(highest - W + 1, NO_LIMIT)).toBe(true);
  });

  it('checks the window edge at every position within a block', () => {
    // The edge falls at each bit offset of the 32-bit words in turn.
    for (let highest = W; highest < W + 70; highest++) {
      const filter = replayWindow.make();
      expect(filter.accept(highest, NO_LIMIT)).toBe(true);
      expect(filter.accept(highest - W - 1, NO_LIMIT)).toBe(false);
      expect(filter.accept(highest - W, NO_LIMIT)).toBe(true);
      // Everything in between is still fresh.
      const refused: number[] = [];
      for (let c = highest - W + 1; c < highest; c++) if (!filter.accept(c, NO_LIMIT)) refused.push(c);
      expect(refused).toEqual([]);
    }
  });

  it('forgets everything when jumping ahead by more than the window', () => {
    const filter = replayWindow.make();
    for (let c = 0; c < 100; c++) filter.accept(c, NO_LIMIT);
    const far = 100 + 2 * W;
    expect(filter.accept(far, NO_LIMIT)).toBe(true);
    expect(filter.accept(50, NO_LIMIT)).toBe(false); // too old now
    // Counters between the old and new positions were never seen, and stale bits must not show.
    const refused: number[] = [];
    for (let c = far - W; c < far; c++) if (!filter.accept(c, NO_LIMIT)) refused.push(c);
    expect(refused).toEqual([]);
    // A jump of exactly one ring's worth of words lands on the slot the window came from.
    const again = far + 8192;
    expect(filter.accept(again, NO_LIMIT)).toBe(true);
    expect(filter.accept(again - W, NO_LIMIT)).toBe(true);
    expect(filter.accept(again - 1, NO_LIMIT)).toBe(true);
  });

  it('rejects counters at or above the limit without recording them', () => {
    const filter = replayWindow.make();
    expect(filter.accept(10, 10)).toBe(false);
    expect(filter.accept(11, 10)).toBe(false);
    expect(filter.accept(9, 10)).toBe(true);
    // The refused counter did not advance the window.
    expect(filter.accept(1_000_000, 2_000_000)).toBe(true);
    expect(filter.accept(10, 2_000_000)).toBe(false);
    const fresh = replayWindow.make();
    expect(fresh.accept(1_000_000, 10)).toBe(false);
    expect(fresh.accept(0, 10)).toBe(true);
  });

  it('refuses counters that are not non-negative safe integers', () => {
    const filter = replayWindow.make();
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(filter.accept(bad, Number.POSITIVE_INFINITY)).toBe(false);
    }
    expect(filter.accept(0, Number.POSITIVE_INFINITY)).toBe(true);
  });

  it('works for counters beyond 32 bits', () => {
    const filter = replayWindow.make();
    const base = 2 ** 52 + 12345;
    expect(filter.accept(base, NO_LIMIT)).toBe(true);
    expect(filter.accept(base, NO_LIMIT)).toBe(false);
    expect(filter.accept(base - 1, NO_LIMIT)).toBe(true);
    expect(filter.accept(base - W, NO_LIMIT)).toBe(true);
    expect(filter.accept(base - W - 1, NO_LIMIT)).toBe(false);
    expect(filter.accept(base + 2 ** 32, NO_LIMIT)).toBe(true); // same ring slot as base
    expect(filter.accept(base + 2 ** 32 - 1, NO_LIMIT)).toBe(true);
    expect(filter.accept(Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY)).toBe(true);
    expect(filter.accept(Number.MAX_SAFE_INTEGER - W, Number.POSITIVE_INFINITY)).toBe(true);
    expect(filter.accept(Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY)).toBe(false);
  });

  it('reset forgets all counters', () => {
    const filter = replayWindow.make();
    for (let c = 0; c < 5000; c += 3) filter.accept(c, NO_LIMIT);
    filter.accept(100_000, NO_LIMIT);
    filter.reset();
    const refused: number[] = [];
    for (let c = 0; c < 5000; c++) if (!filter.accept(c, NO_LIMIT)) refused.push(c);
    expect(refused).toEqual([]);
  });
});

describe('ReplayFilter against a Set-based reference', () => {
  it('agrees on random traffic with reordering, duplicates, edges and jumps', () => {
    const random = prng(6479);
    const disagreements: object[] = [];
    let accepted = 0;
    for (let trial = 0; trial < 20; trial++) {
      const filter = replayWindow.make();
      const reference = new Reference();
      let position = trial === 0 ? 0 : Math.floor(random() * 2 ** 40);
      const limit = random() < 0.3 ? position + 50_000 + Math.floor(random() * 50_000) : NO_LIMIT;
      for (let i = 0; i < 20_000; i++) {
        const r = random();
        let counter: number;
        if (r < 0.5) counter = position + Math.floor(random() * 64);
        else if (r < 0.7) counter = position - Math.floor(random() * (W + 200));
        else if (r < 0.85)
          counter = position - W + Math.floor(random() * 5) - 2; // around the edge
        else if (r < 0.98) counter = position + Math.floor(random() * 2 * W);
        else counter = position + Math.floor(random() * 40 * W); // far jump
        counter = Math.max(0, counter);
        position = Math.max(position, counter);
        const got = filter.accept(counter, limit);
        const want = reference.accept(counter, limit);
        if (got !== want) disagreements.push({ trial, i, counter, got, want });
        accepted += want ? 1 : 0;
      }
    }
    expect(disagreements.slice(0, 5)).toEqual([]);
    // Both verdicts must be well represented for the comparison to mean something.
    // 400,000 counters in all: at least 100,000 accepted and 50,000 refused.
    expect(accepted).toBeGreaterThan(100_000);
    expect(400_000 - accepted).toBeGreaterThan(50_000);
  });
});
