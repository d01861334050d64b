/**
 * Accepts each handshake first message at most once, and only near the time it claims: a recorded
 * first message replayed later is either stale (outside the window) or already seen (same
 * ephemeral key). Anyone can make valid first messages with keys of their own, so the memory of
 * seen ones is capped; when it is full, new hellos are refused rather than old ones forgotten early,
 * since forgetting early would reopen the replay window.
 */

export type HelloVerdict = 'ok' | 'stale' | 'replayed' | 'busy';

export interface ReplayGuardOptions {
  /** A hello whose timestamp is further than this from now is stale. Default 120 s. */
  windowMs?: number;
  /** Most first messages remembered at once. Default 100,000. */
  maxEntries?: number;
}

export class ReplayGuard {
  private readonly windowMs: number;
  private readonly maxEntries: number;
  // Insertion order is acceptance order, so the oldest entries are always at the front.
  private readonly seen = new Map<string, number>();

  constructor(options: ReplayGuardOptions = {}) {
    this.windowMs = options.windowMs ?? 120_000;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Judges a hello with id `id` (its ephemeral key) and timestamp `ts`, and records it if accepted. */
  check(id: string, ts: number, now: number): HelloVerdict {
    if (Math.abs(now - ts) > this.windowMs) return 'stale';
    this.forgetOld(now);
    if (this.seen.has(id)) return 'replayed';
    if (this.seen.size >= this.maxEntries) return 'busy';
    this.seen.set(id, now);
    return 'ok';
  }

  get size(): number {
    return this.seen.size;
  }

  // A hello accepted at time t may carry a timestamp up to t + window, so a replay of it stays
  // inside the window until t + 2 × window: only then may it be forgotten.
  private forgetOld(now: number): void {
    for (const [id, at] of this.seen) {
      if (now - at <= 2 * this.windowMs) return;
      this.seen.delete(id);
    }
  }
}
