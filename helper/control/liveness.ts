import { monotonic } from '../burrowd/clock.js';

/**
 * Notices a control connection that went silent without closing: an instance whose machine died or
 * fell off the network closes nothing, and a device that never sends would wait on its stream
 * forever (behind a load balancer, until the balancer's timeout). After `quietMs` with nothing
 * from the server, `probe` (a ping) is sent; if it is not answered within `quietMs` either, the
 * connection is declared dead, and the client reconnects (to the next URL). A busy stream, with
 * deltas arriving, is never probed.
 */
export class Liveness {
  private lastHeard = monotonic();
  private probing = false;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly quietMs: number,
    private readonly probe: (timeoutMs: number) => Promise<unknown>,
    private readonly dead: (why: string) => void,
  ) {
    this.timer = setInterval(() => this.check(), Math.max(10, quietMs / 4));
    this.timer.unref();
  }

  /** Something came from the server. */
  heard(): void {
    this.lastHeard = monotonic();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    if (this.probing || monotonic() - this.lastHeard < this.quietMs) return;
    this.probing = true;
    this.probe(this.quietMs).then(
      () => {
        this.probing = false;
        this.heard();
      },
      () => {
        this.probing = false;
        this.stop();
        this.dead(`the server answered nothing for ${2 * this.quietMs} ms`);
      },
    );
  }
}
