import { describe, expect, it } from 'vitest';
import { ConcurrencyGate } from './concurrency-gate.js';

describe('concurrency gate', () => {
  it('runs at most `running` tasks at once, queues `waiting`, and refuses the rest at once', async () => {
    const gate = new ConcurrencyGate(2, 3);
    let active = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const task = () =>
      new Promise<number>((resolve) => {
        active++;
        peak = Math.max(peak, active);
        releases.push(() => {
          active--;
          resolve(1);
        });
      });
    const runs = Array.from({ length: 8 }, () => gate.run(task));
    expect(runs.filter((r) => r === null)).toHaveLength(3);
    await new Promise((r) => setImmediate(r));
    expect(active).toBe(2);
    while (releases.length) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(runs.filter((r) => r !== null))).toEqual([1, 1, 1, 1, 1]);
    expect(peak).toBe(2);
    expect(gate.run(async () => 2)).not.toBeNull();
  });

  it('frees the slot of a task that fails', async () => {
    const gate = new ConcurrencyGate(1, 0);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(async () => 'next')).toBe('next');
  });
});
