/**
 * Per-source token buckets for handshake messages under load, after WireGuard's rate limiter:
 * by default 20 packets per second with a burst of 5 per source.
 *
 * An attacker can spray handshakes from many addresses, so memory is bounded twice: entries
 * idle long enough to have refilled are swept (at most once a second, from `allow`, or by
 * `sweep`), and the table has a hard cap beyond which new sources are refused rather than
 * tracked. Refusing, not evicting, keeps an established source's bucket from being reset by a flood.
 */

export interface RateLimiterOptions {
  /** Sustained rate per source. Default 20. */
  packetsPerSecond?: number;
  /** Packets a source may send at once after being quiet. Default 5. */
  burst?: number;
  /** Most sources tracked at a time; beyond it, new sources are refused. Default 65536. */
  maxEntries?: number;
}

interface Bucket {
  // Tokens are measured in "ms × packetsPerSecond": time adds packetsPerSecond per millisecond
  // and a packet costs 1000, which keeps integer rates and times exact.
  tokens: number;
  last: number;
}

const PACKET_COST = 1000;
const SWEEP_INTERVAL_MS = 1000;

export class RateLimiter {
  private readonly rate: number;
  private readonly maxTokens: number;
  private readonly maxEntries: number;
  // An idle bucket may be dropped once it would have refilled completely, so forgetting it
  // changes nothing; that is WireGuard's 1 s unless a large burst needs longer to refill.
  private readonly idleMs: number;
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: RateLimiterOptions = {}) {
    const { packetsPerSecond = 20, burst = 5, maxEntries = 65536 } = options;
    if (!(packetsPerSecond > 0 && Number.isFinite(packetsPerSecond))) {
      throw new RangeError(`packetsPerSecond must be a positive number, got ${packetsPerSecond}`);
    }
    if (!(Number.isInteger(burst) && burst >= 1)) {
      throw new RangeError(`burst must be a positive integer, got ${burst}`);
    }
    if (!(Number.isInteger(maxEntries) && maxEntries >= 1)) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.rate = packetsPerSecond;
    this.maxTokens = burst * PACKET_COST;
    this.maxEntries = maxEntries;
    this.idleMs = Math.max(SWEEP_INTERVAL_MS, (1000 * burst) / packetsPerSecond);
  }

  /** Whether a packet from `source` at time `now` (ms, non-decreasing) is within its rate; spends a token if so. */
  allow(source: string, now: number): boolean {
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS) this.sweep(now);
    const bucket = this.buckets.get(source);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxEntries) return false;
      this.buckets.set(source, { tokens: this.maxTokens - PACKET_COST, last: now });
      return true;
    }
    // A clock that steps back must not drain the bucket, so only forward time refills it.
    if (now > bucket.last) {
      bucket.tokens = Math.min(this.maxTokens, bucket.tokens + (now - bucket.last) * this.rate);
      bucket.last = now;
    }
    if (bucket.tokens < PACKET_COST) return false;
    bucket.tokens -= PACKET_COST;
    return true;
  }

  /** Drops the buckets of sources idle past their refill time. */
  sweep(now: number): void {
    this.lastSweep = now;
    for (const [source, bucket] of this.buckets) {
      if (now - bucket.last > this.idleMs) this.buckets.delete(source);
    }
  }

  /** How many sources are being tracked. */
  get size(): number {
    return this.buckets.size;
  }
}
