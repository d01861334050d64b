import { describe, expect, it } from 'vitest';
import { DatabaseState } from './database-state.js';
import { StoreError } from './store/errors.js';

describe('DatabaseState', () => {
  it('probes at most once per cacheMs however often it is asked, so /health cannot load the database', async () => {
    let probes = 0;
    let now = 1000;
    const state = new DatabaseState({ probe: async () => probes++, now: () => now, cacheMs: 1000 });
    const reports = await Promise.all(Array.from({ length: 200 }, () => state.check()));
    expect(reports.every((r) => r.reachable)).toBe(true);
    expect(probes).toBe(1);
    now += 999;
    await state.check();
    expect(probes).toBe(1);
    now += 1;
    await state.check();
    expect(probes).toBe(2);
  });

  it('a probe with no answer within timeoutMs counts as unreachable, since then; an answer makes it reachable again', async () => {
    const logged: string[] = [];
    let answer: () => Promise<unknown> = () => new Promise(() => {}); // hangs, as a blocked socket does
    let now = 5000;
    const state = new DatabaseState({
      probe: () => answer(),
      now: () => now,
      log: (m) => logged.push(m),
      cacheMs: 0,
      timeoutMs: 20,
    });
    expect(await state.check()).toEqual({
      reachable: false,
      since: 5000,
      error: 'the database is unreachable (no answer within 20 ms)',
    });
    now = 6000;
    answer = () =>
      Promise.reject(new StoreError('unavailable', 'the database is unreachable (ENOENT); try again later'));
    // Still down since the first failure; the latest reason, without the advice meant for callers.
    expect(await state.check()).toEqual({
      reachable: false,
      since: 5000,
      error: 'the database is unreachable (ENOENT)',
    });
    expect(state.reachable).toBe(false);
    answer = async () => 7;
    now = 8500;
    expect(await state.check()).toEqual({ reachable: true });
    expect(logged).toEqual([
      'the database is unreachable (no answer within 20 ms): serving the maps we have, refusing changes',
      'database reachable again after 3.5 s: serving changes again',
    ]);
  });
});
