import { describe, expect, it } from 'vitest';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { identity, T0 } from '../testing.js';

/**
 * Figures, not a benchmark suite: one run on a real file with the production pragmas. The bounds
 * are loose (about 10x what this machine takes) so a regression to O(n) per registration fails
 * without a noisy machine making the test flaky.
 */
describe.each(BACK_ENDS)('at scale ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);

  it('registers 10,000 devices, one transaction each, and lists a network of them', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const ids = Array.from({ length: 10_000 }, (_, i) => identity(i % 10 === 0 ? 'host' : `host${i}`));

    let start = performance.now();
    for (const id of ids) await t.store.registerDevice({ ...id, userId: ana.id }, T0);
    const registerMs = performance.now() - start;

    start = performance.now();
    const all = await t.store.listDevices(ana.networkId);
    const listMs = performance.now() - start;

    console.log(
      `10,000 registrations: ${(registerMs / 1000).toFixed(2)} s (${((registerMs * 1000) / 10_000).toFixed(0)} µs each); ` +
        `listing the network's 10,000 devices: ${listMs.toFixed(0)} ms`,
    );
    expect(all).toHaveLength(10_000);
    expect(new Set(all.map((d) => d.name)).size).toBe(10_000);
    expect(all.filter((d) => d.name.startsWith('host-'))).toHaveLength(999);
    expect(registerMs).toBeLessThan(30_000);
    expect(listMs).toBeLessThan(2_000);
  });
});
