/**
 * A token bucket that says how long to wait rather than just yes or no: the relay pauses reading a
 * client that is over its rate (TCP then pushes back on the sender) instead of reading and
 * discarding, so a flood costs the relay no decryption work.
 *
 * A cost larger than the whole burst is allowed once the bucket is full, leaving it in debt, so
 * that no frame size is unsendable whatever the configuration.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    if (!(ratePerSecond > 0 && Number.isFinite(ratePerSecond))) {
      throw new RangeError(`rate must be a positive number, got ${ratePerSecond}`);
    }
    if (!(burst > 0 && Number.isFinite(burst))) throw new RangeError(`burst must be positive, got ${burst}`);
    this.tokens = burst;
    this.last = now;
  }

  /** Milliseconds until `cost` can be spent at time `now` (ms, monotonic); 0 if it can be now. */
  wait(cost: number, now: number): number {
    // A clock that steps back must not drain the bucket, so only forward time refills it.
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
      this.last = now;
    }
    const needed = Math.min(cost, this.burst);
    return this.tokens >= needed ? 0 : ((needed - this.tokens) * 1000) / this.ratePerSecond;
  }

  /** Spends `cost` (after `wait` returned 0). */
  spend(cost: number): void {
    this.tokens -= cost;
  }
}
