import type { TraceRequest } from '../../src/localapi/api.js';
import type { TraceReport } from '../../src/trace/report.js';
import { type RateLimit, TokenBucket } from '../../src/trace/token-bucket.js';
import { reportForReader } from '../../src/trace/trace-report.js';
import { type Caller, LocalApiError } from '../localapi/server.js';
import type { TraceQuery } from './trace.js';

/**
 * Traces per local user: a few at once, then one every two seconds. A trace sends real packets (a
 * probe the peer answers, a SYN to the port), so without a limit a local user could use burrowd to
 * sweep a peer's ports and policy; each peer also limits the probes it answers.
 */
export const TRACES_PER_CALLER: RateLimit = { perSecond: 0.5, burst: 5 };
/** Traces running at once, for all callers together. */
const MAX_RUNNING = 4;
/** Callers whose buckets are kept; past it, the one not heard from the longest is forgotten. */
const MAX_CALLERS = 256;

/**
 * The LocalAPI's `trace` operation: read-only and open to every local user, rate-limited per user
 * (by uid) but for root and the operator, who may change burrowd's settings anyway. What it
 * tells a read-only caller is what `status` shows them, plus what a packet they could send would
 * meet; the peer's admitting rule is for root and the operator only (reportForReader).
 */
export class TraceApi {
  private readonly buckets = new Map<number, TokenBucket>();
  private running = 0;

  constructor(
    private readonly trace: (query: TraceQuery) => Promise<TraceReport>,
    private readonly clock: () => number,
  ) {}

  async handle(request: TraceRequest, caller: Caller): Promise<TraceReport> {
    const protocol = request.proto ?? 'tcp';
    const port = request.port ?? null;
    if (protocol === 'icmp' && port !== null) throw new LocalApiError(400, 'a ping (icmp) has no port');
    if (protocol !== 'icmp' && port === null)
      throw new LocalApiError(400, `a ${protocol} trace needs a port`);
    if (this.running >= MAX_RUNNING)
      throw new LocalApiError(429, 'too many traces at once: try again shortly');
    if (!caller.mayChange && !this.admit(caller.uid))
      throw new LocalApiError(429, 'too many traces: wait a few seconds');
    this.running++;
    try {
      const report = await this.trace({ target: request.target, protocol, port, uid: caller.uid });
      return caller.mayChange ? report : reportForReader(report);
    } finally {
      this.running--;
    }
  }

  private admit(uid: number): boolean {
    const now = this.clock();
    let bucket = this.buckets.get(uid);
    if (bucket === undefined) {
      bucket = new TokenBucket(TRACES_PER_CALLER, now);
      if (this.buckets.size >= MAX_CALLERS) this.buckets.delete(this.buckets.keys().next().value!);
    }
    // Re-inserted: the map's first key is the caller heard from the longest ago.
    this.buckets.delete(uid);
    this.buckets.set(uid, bucket);
    return bucket.take(now);
  }
}
