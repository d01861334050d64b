/**
 * The node keys a relay serves: those of registered devices whose keys have not expired. Kept with
 * each key's expiry, so that a relay refuses a key from the moment it expires even if nobody has
 * told it yet, and can take expired keys out (and drop their connections) on a timer of its own.
 * No I/O: callers bring the time and act on the keys returned as no longer allowed.
 */

/** A node key (base64, as in the store and the relay map) and when it stops being allowed. */
export interface AllowedKey {
  key: string;
  /** Unix ms; null never expires. */
  expires: number | null;
}

export class AllowedKeySet {
  private readonly keys = new Map<string, number | null>();
  // No key expires before this (it may be earlier than the true next expiry after a key was
  // removed or extended; a sweep then finds nothing and computes it exactly).
  private earliest = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.keys.size;
  }

  /** Whether `key` may use the relay at `now`. */
  has(key: string, now: number): boolean {
    const expires = this.keys.get(key);
    return expires !== undefined && (expires === null || expires > now);
  }

  /** The key's expiry (null: never), or undefined if it is not in the set. */
  expiryOf(key: string): number | null | undefined {
    return this.keys.get(key);
  }

  /** Adds `key`, or changes its expiry. A key already past its expiry is taken out instead. */
  allow(key: string, expires: number | null, now: number): void {
    if (expires !== null && expires <= now) {
      this.keys.delete(key);
      return;
    }
    this.keys.set(key, expires);
    if (expires !== null) this.earliest = Math.min(this.earliest, expires);
  }

  /** Takes `key` out; returns whether it was in. */
  revoke(key: string): boolean {
    return this.keys.delete(key);
  }

  /** Makes the set exactly `entries`; returns the keys that were allowed before and are not now. */
  replace(entries: Iterable<AllowedKey>, now: number): string[] {
    const before = new Set(this.keys.keys());
    this.keys.clear();
    this.earliest = Number.POSITIVE_INFINITY;
    for (const { key, expires } of entries) this.allow(key, expires, now);
    return [...before].filter((key) => !this.keys.has(key));
  }

  /** Takes out every key whose expiry has come; returns them. */
  expire(now: number): string[] {
    if (now < this.earliest) return [];
    const expired: string[] = [];
    this.earliest = Number.POSITIVE_INFINITY;
    for (const [key, expires] of this.keys) {
      if (expires === null) continue;
      if (expires <= now) {
        expired.push(key);
        this.keys.delete(key);
      } else {
        this.earliest = Math.min(this.earliest, expires);
      }
    }
    return expired;
  }

  /** When `expire` next has work (Unix ms), or null if no key expires. */
  get nextExpiry(): number | null {
    return Number.isFinite(this.earliest) ? this.earliest : null;
  }

  entries(): AllowedKey[] {
    return [...this.keys].map(([key, expires]) => ({ key, expires }));
  }
}
