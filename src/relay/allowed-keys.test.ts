import { describe, expect, it } from 'vitest';
import { AllowedKeySet } from './allowed-keys.js';

const T = 1_000_000;

describe('allowed key set', () => {
  it('allows a key until its expiry, and one without expiry always', () => {
    const set = new AllowedKeySet();
    set.allow('a', T + 100, T);
    set.allow('b', null, T);
    expect(set.has('a', T + 99)).toBe(true);
    expect(set.has('a', T + 100)).toBe(false); // refused from the moment it expires, swept or not
    expect(set.has('b', T + 10 ** 12)).toBe(true);
    expect(set.has('c', T)).toBe(false);
  });

  it('does not add a key that has already expired, and takes it out if it was in', () => {
    const set = new AllowedKeySet();
    set.allow('a', null, T);
    set.allow('a', T - 1, T);
    expect(set.size).toBe(0);
  });

  it('expires keys by time, says when next, and only sweeps when something is due', () => {
    const set = new AllowedKeySet();
    set.allow('a', T + 100, T);
    set.allow('b', T + 50, T);
    set.allow('c', null, T);
    expect(set.nextExpiry).toBe(T + 50);
    expect(set.expire(T + 49)).toEqual([]);
    expect(set.expire(T + 50)).toEqual(['b']);
    expect(set.nextExpiry).toBe(T + 100);
    // An extended key moves the next expiry once the old time has been swept.
    set.allow('a', T + 500, T + 60);
    expect(set.expire(T + 100)).toEqual([]);
    expect(set.nextExpiry).toBe(T + 500);
    expect(set.expire(T + 500)).toEqual(['a']);
    expect(set.nextExpiry).toBeNull();
    expect(set.entries()).toEqual([{ key: 'c', expires: null }]);
  });

  it('replaces the whole set, returning the keys no longer allowed', () => {
    const set = new AllowedKeySet();
    set.allow('a', null, T);
    set.allow('b', null, T);
    const gone = set.replace(
      [
        { key: 'b', expires: T + 5 },
        { key: 'c', expires: null },
        { key: 'd', expires: T - 5 },
      ],
      T,
    );
    expect(gone).toEqual(['a']);
    expect(set.entries().map((e) => e.key)).toEqual(['b', 'c']);
    expect(set.expiryOf('b')).toBe(T + 5);
    expect(set.revoke('b')).toBe(true);
    expect(set.revoke('b')).toBe(false);
  });
});
