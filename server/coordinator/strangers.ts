import { clientKey } from '../client-address.js';
import type { ServerChannel } from '../control/listener.js';

/** What channels that have not registered may hold open. */
export interface StrangerLimits {
  /** Unregistered channels per client address (an IPv6 /64 counts as one). */
  perAddress: number;
  /** Unregistered channels server-wide. */
  total: number;
  /** A channel that has not registered by then is closed (not counting time waiting for a sign-in). */
  registerWithinMs: number;
}

export const DEFAULT_STRANGER_LIMITS: StrangerLimits = {
  perAddress: 64,
  total: 4096,
  registerWithinMs: 30_000,
};

interface Entry {
  key: string;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Channels that completed the handshake (anyone can: it proves only a key of their own) but do not
 * speak for a device yet. Each must register within a deadline, which pauses while a person may be
 * signing in at its login link, and there are only so many per address and in all, so idle
 * connections cannot pile up.
 */
export class Strangers {
  private readonly limits: StrangerLimits;
  private readonly entries = new Map<ServerChannel, Entry>();
  private readonly perKey = new Map<string, number>();

  constructor(limits: Partial<StrangerLimits> = {}) {
    this.limits = { ...DEFAULT_STRANGER_LIMITS, ...limits };
  }

  get size(): number {
    return this.entries.size;
  }

  /** A new channel: false if its address (or the server) has too many already. */
  admit(channel: ServerChannel, address: string): boolean {
    const key = clientKey(address);
    const count = this.perKey.get(key) ?? 0;
    if (count >= this.limits.perAddress || this.entries.size >= this.limits.total) return false;
    this.perKey.set(key, count + 1);
    this.entries.set(channel, { key, timer: undefined });
    this.idle(channel);
    return true;
  }

  /** Its login is waiting for a sign-in: no deadline while that lasts (the login has its own expiry). */
  waiting(channel: ServerChannel): void {
    const entry = this.entries.get(channel);
    if (entry) clearTimeout(entry.timer);
  }

  /** Not (or no longer) waiting for anything: the deadline runs from now. */
  idle(channel: ServerChannel): void {
    const entry = this.entries.get(channel);
    if (!entry) return;
    clearTimeout(entry.timer);
    const seconds = Math.round(this.limits.registerWithinMs / 1000);
    const reason = `closing: the device did not register within ${seconds} s`;
    entry.timer = setTimeout(() => {
      channel.send({ type: 'error', reason });
      channel.close(reason);
    }, this.limits.registerWithinMs);
  }

  /** The channel registered, or closed: it no longer counts. */
  forget(channel: ServerChannel): void {
    const entry = this.entries.get(channel);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.entries.delete(channel);
    const left = (this.perKey.get(entry.key) ?? 1) - 1;
    if (left > 0) this.perKey.set(entry.key, left);
    else this.perKey.delete(entry.key);
  }
}
