/**
 * Which control server URL the next connection goes to, and how long to wait before it: the
 * client's reconnect policy. With several URLs (instances sharing one database), every lost
 * connection or failed attempt moves on to the next one, so a dead instance costs one short wait,
 * not a long backoff on the same address. With one URL (a single server, or a load balancer that
 * sends each new connection to a live instance) it is a plain backoff.
 */
export class ServerChoice {
  private index = 0;
  private failures = 0;

  constructor(
    private readonly urls: readonly string[],
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: (n: number) => Uint8Array,
  ) {
    if (urls.length === 0) throw new Error('no control server URL');
    if (!(minMs > 0 && maxMs >= minMs)) throw new Error('backoff: need 0 < minBackoffMs <= maxBackoffMs');
  }

  /** The URL to connect to now. */
  get url(): string {
    return this.urls[this.index]!;
  }

  /**
   * The connection to `url` failed or was lost: moves on to the next URL and returns the wait
   * before connecting to it. The wait grows with each full round of failures (every URL tried
   * once), from a draw between min and 2 x min, so it is short after an instance dies but never a
   * tight loop, and devices cut off together do not all come back at the same instant.
   */
  failed(): number {
    const round = Math.floor(this.failures / this.urls.length);
    this.failures++;
    this.index = (this.index + 1) % this.urls.length;
    return backoffMs(round, this.minMs, this.maxMs, this.random);
  }

  /** A server is serving maps again: the next outage starts from the shortest wait (at this URL). */
  succeeded(): void {
    this.failures = 0;
  }

  /** Starts over from the first URL and the shortest wait (a new start()). */
  reset(): void {
    this.index = 0;
    this.failures = 0;
  }
}

/**
 * The wait before retry round `round` (from 0): a ceiling doubling from 2 x min up to max, and a
 * random draw from its upper half. Never under min.
 */
function backoffMs(round: number, minMs: number, maxMs: number, random: (n: number) => Uint8Array): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** (round + 1));
  const bytes = random(4);
  const fraction = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) / 2 ** 32;
  return Math.max(minMs, Math.round(ceiling * (0.5 + fraction / 2)));
}
