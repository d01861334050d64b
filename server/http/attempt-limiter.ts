/**
 * Backoff for guessing: each key (a client address, a user name) may make `free` attempts, then
 * must wait after each further one, twice as long each time up to `maxDelayMs`. Every attempt counts
 * when it starts, and only a success clears the key, so a burst of parallel guesses gets no more
 * through than a sequence would.
 *
 * Memory is bounded: keys quiet for `forgetAfterMs` are forgotten, and past `maxEntries` the key
 * touched longest ago goes first. An attacker spraying fresh keys cannot push out a key they keep
 * guessing against, since each guess makes it the newest.
 */
export interface AttemptLimiterOptions {
  /** Attempts allowed before any wait. */
  free: number;
  /** The wait after the first attempt past `free`; it doubles with each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A key with no attempt for this long starts afresh. */
  forgetAfterMs: number;
  maxEntries: number;
}

interface Entry {
  attempts: number;
  last: number;
}

export class AttemptLimiter {
  // Insertion order is last-touched order: the first entry is the one to evict.
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: AttemptLimiterOptions) {}

  /**
   * Records an attempt for every key at once and returns 0, or, if any of them must still wait,
   * records nothing and returns how many ms are left.
   */
  take(keys: readonly string[], now: number): number {
    const wait = Math.max(0, ...keys.map((k) => this.waitFor(k, now)));
    if (wait > 0) return wait;
    for (const key of keys) {
      const entry = this.live(key, now) ?? { attempts: 0, last: now };
      entry.attempts++;
      entry.last = now;
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    while (this.entries.size > this.options.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    return 0;
  }

  /** The attempt succeeded: its keys start afresh. */
  succeed(keys: readonly string[]): void {
    for (const key of keys) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private waitFor(key: string, now: number): number {
    const entry = this.live(key, now);
    if (!entry || entry.attempts < this.options.free) return 0;
    const { baseDelayMs, maxDelayMs, free } = this.options;
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(30, entry.attempts - free));
    return Math.max(0, entry.last + delay - now);
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && now - entry.last > this.options.forgetAfterMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
