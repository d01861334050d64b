import type { CryptoProvider } from '../crypto/types.js';
import type { Action, Endpoint } from './actions.js';
import { endpointText } from './actions.js';
import { CookieChecker } from './cookie.js';
import type { DropReason } from './drops.js';
import { RateLimiter } from './rate-limiter.js';

const encoder = new TextEncoder();
/** Once under load, stay so for this long (wireguard-go's UnderLoadAfterTime). */
const UNDER_LOAD_HOLD = 1000;

/**
 * Admission control for handshake messages: mac1 and an overall rate budget always; under load,
 * also mac2 (else a cookie reply) and a per-source rate limit. "Under load" means more than `threshold` handshake messages
 * with a valid mac1 in the current second, the core's stand-in for wireguard-go's queue depth.
 */
export class LoadGuard {
  private checker: CookieChecker;
  private readonly rateLimiter = new RateLimiter();
  private readonly budget: RateLimiter;
  private windowStart = Number.NEGATIVE_INFINITY;
  private windowCount = 0;
  private underLoadUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly crypto: CryptoProvider,
    localPublicKey: Uint8Array,
    private readonly random: (n: number) => Uint8Array,
    private readonly cookieRefreshTime: number,
    private readonly threshold: number,
    /** Handshake messages (with a valid mac1) processed per second at most, all sources together. */
    handshakesPerSecond: number,
  ) {
    this.checker = new CookieChecker(crypto, localPublicKey, random, cookieRefreshTime);
    // wireguard-go bounds this with a 1024-deep handshake queue; a core without queues bounds the
    // rate instead, with a second's worth as burst, so that a flood cannot starve transport packets.
    this.budget = new RateLimiter({
      packetsPerSecond: handshakesPerSecond,
      burst: Math.max(1, Math.ceil(handshakesPerSecond / 5)),
      maxEntries: 1,
    });
  }

  /** Our static key changed: mac1 and cookie keys derive from it. */
  setLocalPublicKey(publicKey: Uint8Array): void {
    this.checker = new CookieChecker(this.crypto, publicKey, this.random, this.cookieRefreshTime);
  }

  /**
   * Decides whether to process a handshake message whose mac1 sits at `mac1Offset` and whose sender
   * index is `sender`. Returns null to go ahead, or the reason to drop it (a cookie reply, if one is
   * owed, is appended to `out`).
   */
  admit(
    data: Uint8Array,
    mac1Offset: number,
    sender: number,
    from: Endpoint,
    now: number,
    out: Action[],
  ): DropReason | null {
    if (!this.checker.checkMac1(data, mac1Offset)) return 'bad-mac1';
    if (!this.budget.allow('all', now)) return 'handshake-overload';
    if (!this.underLoad(now)) return null;
    const source = encoder.encode(endpointText(from));
    if (!this.checker.checkMac2(data, mac1Offset + 16, source, now)) {
      const reply = this.checker.createReply(data, mac1Offset, sender, source, now);
      out.push({ kind: 'send', peer: null, endpoint: from, data: reply });
      return 'cookie-sent';
    }
    return this.rateLimiter.allow(from.host, now) ? null : 'rate-limited';
  }

  private underLoad(now: number): boolean {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (++this.windowCount > this.threshold) this.underLoadUntil = now + UNDER_LOAD_HOLD;
    return now < this.underLoadUntil;
  }
}
