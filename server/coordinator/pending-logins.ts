import { RateLimiter } from '../../src/wireguard/rate-limiter.js';
import { clientKey, displayAddress } from '../client-address.js';
import type { ServerChannel } from '../control/listener.js';
import type { DeviceIdentity, Store } from '../store/store.js';

/** What interactive logins may cost: each one is a row and a channel waiting for a person. */
export interface LoginLimits {
  /** Logins waiting for a sign-in, server-wide. */
  maxPending: number;
  /** Key-less registrations (each makes a login link) per client address: sustained and burst. */
  perAddressPerMinute: number;
  perAddressBurst: number;
  /** Key-less registrations per second server-wide, so many addresses cannot fill the table either. */
  globalPerSecond: number;
  /** How often expired login sessions are deleted. */
  sweepMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  maxPending: 1000,
  perAddressPerMinute: 6,
  perAddressBurst: 10,
  globalPerSecond: 50,
  sweepMs: 60_000,
};

interface Pending {
  sessionId: string;
  channel: ServerChannel;
  expiresAt: number;
  /** The sign-in completed: the channel now speaks for this device. */
  completed(deviceId: string): void;
  expired(): void;
}

export type LoginStart = { sessionId: string } | { refused: string };

/**
 * Interactive logins waiting for someone to sign in at their link. A channel has at most one (a new
 * request ends the one before), the server at most `maxPending`, and each client address may ask
 * only so often. They are watched with one query per poll, whatever their number, and the store's
 * expired sessions are deleted on a timer, so neither rows nor work grow with what strangers send.
 */
export class PendingLogins {
  private readonly limits: LoginLimits;
  private readonly byChannel = new Map<ServerChannel, Pending>();
  private readonly perAddress: RateLimiter;
  private readonly global: RateLimiter;
  private readonly sweeper: ReturnType<typeof setInterval>;
  /** Logins being written to the store now: they count against `maxPending` already. */
  private starting = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    limits: Partial<LoginLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LOGIN_LIMITS, ...limits };
    this.perAddress = new RateLimiter({
      packetsPerSecond: this.limits.perAddressPerMinute / 60,
      burst: this.limits.perAddressBurst,
    });
    this.global = new RateLimiter({
      packetsPerSecond: this.limits.globalPerSecond,
      burst: this.limits.globalPerSecond,
    });
    this.sweeper = setInterval(() => this.sweep(), this.limits.sweepMs);
    this.sweeper.unref();
  }

  get size(): number {
    return this.byChannel.size;
  }

  /**
   * Opens a login for the device on `channel`, ending the channel's previous one. The caller starts
   * one login at a time per channel (the coordinator handles a channel's messages in turn).
   */
  async start(
    channel: ServerChannel,
    address: string,
    who: DeviceIdentity,
    on: Pick<Pending, 'completed' | 'expired'>,
  ): Promise<LoginStart> {
    const t = performance.now();
    if (!this.perAddress.allow(clientKey(address), t))
      return { refused: 'too many sign-in requests from your address: wait a minute and try again' };
    const others = this.byChannel.size + this.starting - (this.byChannel.has(channel) ? 1 : 0);
    if (others >= this.limits.maxPending || !this.global.allow('all', t))
      return { refused: 'too many sign-ins are waiting on this server: try again later' };
    this.end(channel);
    this.starting++;
    let session: Awaited<ReturnType<Store['createLoginSession']>>;
    try {
      session = await this.store.createLoginSession(
        { ...who, requestedFrom: displayAddress(address) },
        this.now(),
      );
    } finally {
      this.starting--;
    }
    this.byChannel.set(channel, { sessionId: session.id, channel, expiresAt: session.expiresAt, ...on });
    return { sessionId: session.id };
  }

  /** The channel closed or registered otherwise: its link stops working. */
  end(channel: ServerChannel): void {
    const pending = this.byChannel.get(channel);
    if (!pending) return;
    this.byChannel.delete(channel);
    this.store.expireLoginSession(pending.sessionId, this.now()).catch(() => {
      // Already deleted by the sweep: nothing left to end.
    });
  }

  /**
   * Expires the overdue logins (telling their channels), and takes out the ones someone signed in
   * to, returning them with the device each sign-in registered: the caller brings its maps up to
   * the store first, then tells their channels.
   */
  async poll(): Promise<{ completed: Pending['completed']; deviceId: string }[]> {
    if (this.byChannel.size === 0) return [];
    const now = this.now();
    for (const pending of [...this.byChannel.values()]) {
      if (pending.expiresAt > now) continue;
      this.byChannel.delete(pending.channel);
      pending.expired();
    }
    const done = await this.store.completedLoginSessions(
      [...this.byChannel.values()].map((p) => p.sessionId),
    );
    const completed = [];
    // Only those still waiting now: a channel may have closed while the query ran.
    for (const pending of [...this.byChannel.values()]) {
      const deviceId = done.get(pending.sessionId);
      if (deviceId === undefined) continue;
      this.byChannel.delete(pending.channel);
      completed.push({ completed: pending.completed, deviceId });
    }
    return completed;
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    this.store.deleteExpiredLoginSessions(this.now()).catch(() => {
      // The database was busy or away: the next sweep deletes them.
    });
  }
}
