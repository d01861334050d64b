import { describe, expect, it } from 'vitest';
import { ReplayGuard } from './replay-guard.js';

describe('ReplayGuard', () => {
  it('accepts a hello once, within the window', () => {
    const guard = new ReplayGuard({ windowMs: 1000 });
    expect(guard.check('a', 10_000, 10_500)).toBe('ok');
    expect(guard.check('a', 10_000, 10_600)).toBe('replayed');
    expect(guard.check('b', 8_000, 10_600)).toBe('stale');
    expect(guard.check('c', 12_000, 10_600)).toBe('stale');
  });

  it('remembers a hello until its replay would be stale anyway, then forgets it', () => {
    const guard = new ReplayGuard({ windowMs: 1000 });
    expect(guard.check('a', 11_000, 10_000)).toBe('ok');
    // Its timestamp is still within the window at 11,999: it must still be remembered.
    expect(guard.check('a', 11_000, 11_999)).toBe('replayed');
    guard.check('b', 12_100, 12_100);
    expect(guard.size).toBe(1);
  });

  it('refuses new hellos rather than forgetting early when full', () => {
    const guard = new ReplayGuard({ windowMs: 1000, maxEntries: 2 });
    expect(guard.check('a', 0, 0)).toBe('ok');
    expect(guard.check('b', 0, 0)).toBe('ok');
    expect(guard.check('c', 0, 0)).toBe('busy');
    expect(guard.check('a', 0, 1)).toBe('replayed');
    expect(guard.check('c', 2500, 2500)).toBe('ok');
  });
});
