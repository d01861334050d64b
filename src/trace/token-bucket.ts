/**
 * A token bucket: `burst` tokens, refilled at `perSecond`; each take spends one. Pure state and
 * arithmetic on the times it is given, so it needs no clock of its own.
 */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.at = now;
  }

  /** Spends a token if there is one at `now` (ms); false if the bucket is empty. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether the bucket is full at `now`: it then holds nothing a fresh bucket would not. */
  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.limit.burst;
  }

  private refill(now: number): void {
    // A clock that goes back refills nothing, and moves the reference back with it.
    const elapsed = Math.max(0, now - this.at);
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed * this.limit.perSecond) / 1000);
    this.at = now;
  }
}
