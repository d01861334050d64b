import { type AllowedKey, AllowedKeySet } from '../../src/relay/allowed-keys.js';
import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { ChangeKind, Device } from '../store/types.js';
import { type KeyGate, Listeners } from './key-gate.js';

/** Keys newly allowed (or with a new expiry) and keys no longer allowed, as the key feed sends them. */
export interface KeyChanges {
  allow: AllowedKey[];
  revoke: string[];
}

export interface StoreAllowedKeysOptions {
  /** Unix wall-clock ms. */
  now: () => number;
  /** How often the change feed is read, ms. Default 250. */
  pollMs?: number;
  log?: (message: string) => void;
}

const DEVICE_CHANGES: ReadonlySet<ChangeKind> = new Set(['device-added', 'device-removed', 'device-changed']);

const isLive = (d: Device, now: number) => d.keyExpiry === null || d.keyExpiry > now;

/**
 * The node keys of the store's registered, unexpired devices, for burrow-server's own relay and
 * for the key feed to standalone relays. Loads them once, then follows the store's change feed on
 * its own (its own position, a cheap poll), so changes by any process, the admin CLI included,
 * reach the relay: a deleted device's key, a rotated-away key and an expired key are revoked
 * within one poll. A key not yet known is looked up again (`recheck`: one change-feed read) before
 * it is refused, so a device that registered a moment ago is not turned away.
 *
 * The store is asynchronous: a poll reads everything it needs first, then changes the set in one
 * synchronous step, and polls run one at a time, so a batch is never applied twice or half.
 */
export class StoreAllowedKeys implements KeyGate {
  private readonly keys = new AllowedKeySet();
  /** Node key of each device whose key is in `keys`, and the reverse. */
  private readonly keyOf = new Map<string, string>();
  private readonly deviceOf = new Map<string, string>();
  private readonly revoked = new Listeners<readonly string[]>();
  private readonly changed = new Listeners<KeyChanges>();
  private readonly timer: ReturnType<typeof setInterval>;
  private seq = 0;
  private closed = false;
  /** The poll running now, and the one waiting to start after it (as Coordinator.poll). */
  private polling: Promise<void> = Promise.resolve();
  private nextPoll: Promise<void> | null = null;

  private constructor(
    private readonly store: Store,
    private readonly options: StoreAllowedKeysOptions,
  ) {
    this.timer = setInterval(() => this.tryPoll(), options.pollMs ?? 250);
  }

  /** Loads every live key, then follows the change feed. */
  static async open(store: Store, options: StoreAllowedKeysOptions): Promise<StoreAllowedKeys> {
    const gate = new StoreAllowedKeys(store, options);
    try {
      await gate.reload();
    } catch (error) {
      await gate.close();
      throw error;
    }
    return gate;
  }

  allows(nodeKey: string): boolean {
    return this.keys.has(nodeKey, this.options.now());
  }

  /** Whether `nodeKey` is allowed once the change feed is read again (a device that just registered). */
  async recheck(nodeKey: string): Promise<boolean> {
    await this.poll();
    return this.keys.has(nodeKey, this.options.now());
  }

  onRevoked(listener: (nodeKeys: readonly string[]) => void): () => void {
    return this.revoked.add(listener);
  }

  /** Tells `listener` every change to the set from now on (what the key feed streams). */
  onChange(listener: (changes: KeyChanges) => void): () => void {
    return this.changed.add(listener);
  }

  /** Every key allowed now. */
  entries(): AllowedKey[] {
    return this.keys.entries();
  }

  /**
   * Stops following the store; settles once a read of the feed still running has ended, so the
   * store can be closed after it (a read then would hit a closed database or pool).
   */
  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    return this.polling;
  }

  // A busy or briefly unreadable database must not take the server down (this also runs inside a
  // relay handshake): the next poll reads from the same position.
  private tryPoll(): void {
    this.poll().catch((error) => {
      this.options.log?.(`relay: reading the change feed: ${(error as Error).message}`);
    });
  }

  /**
   * Brings the set up to the store's change feed, and takes out keys that have expired. Settles
   * once a poll that started after this call has finished.
   */
  poll(): Promise<void> {
    if (this.nextPoll !== null) return this.nextPoll;
    const next = this.polling.then(() => {
      this.nextPoll = null;
      return this.pollOnce();
    });
    this.nextPoll = next;
    this.polling = next.catch(() => {});
    return next;
  }

  private async pollOnce(): Promise<void> {
    if (this.closed) return;
    const allow = new Map<string, number | null>();
    const revoke: string[] = [];
    const current = await this.store.currentSeq();
    if (current !== this.seq) {
      const records = await this.store.changesAfter(this.seq);
      if (records === null) {
        await this.reload(); // the feed was pruned past our position
        return;
      }
      const ids = new Set<string>();
      for (const r of records) if (r.deviceId !== null && DEVICE_CHANGES.has(r.kind)) ids.add(r.deviceId);
      const devices = new Map<string, Device | null>();
      for (const id of ids) devices.set(id, await this.findDevice(id));
      if (this.closed) return;
      const now = this.options.now();
      this.seq = Math.max(current, records.at(-1)?.seq ?? current);
      for (const [id, device] of devices) this.refresh(id, device, now, allow, revoke);
    }
    const now = this.options.now();
    for (const key of this.keys.expire(now)) {
      this.forget(key);
      revoke.push(key);
    }
    this.publish(allow, revoke, now);
  }

  /** Reads one device again: allows its current key, revokes a key it no longer has. */
  private refresh(
    id: string,
    device: Device | null,
    now: number,
    allow: Map<string, number | null>,
    revoke: string[],
  ): void {
    const live = device !== null && isLive(device, now);
    const old = this.keyOf.get(id);
    if (old !== undefined && (!live || old !== device.nodeKey)) {
      this.keyOf.delete(id);
      if (this.deviceOf.get(old) === id) {
        this.forget(old);
        this.keys.revoke(old);
        revoke.push(old);
      }
    }
    if (!live || (old === device.nodeKey && this.keys.expiryOf(old) === device.keyExpiry)) return;
    this.keyOf.set(id, device.nodeKey);
    this.deviceOf.set(device.nodeKey, id);
    this.keys.allow(device.nodeKey, device.keyExpiry, now);
    allow.set(device.nodeKey, device.keyExpiry);
  }

  /** Loads every live key, replacing the set; tells listeners what changed. */
  private async reload(): Promise<void> {
    // Read the position first: a change made while loading is then read again by the next poll,
    // and reading a device again is harmless.
    const seq = await this.store.currentSeq();
    const all: Device[] = [];
    for (const network of await this.store.listNetworks())
      all.push(...(await this.store.listDevices(network.id)));
    const now = this.options.now();
    this.seq = seq;
    const before = new Map(this.keys.entries().map((e) => [e.key, e.expires]));
    const entries: AllowedKey[] = [];
    this.keyOf.clear();
    this.deviceOf.clear();
    for (const d of all) {
      if (!isLive(d, now)) continue;
      this.keyOf.set(d.id, d.nodeKey);
      this.deviceOf.set(d.nodeKey, d.id);
      entries.push({ key: d.nodeKey, expires: d.keyExpiry });
    }
    const revoke = this.keys.replace(entries, now);
    const allow = new Map<string, number | null>();
    for (const e of entries) if (before.get(e.key) !== e.expires) allow.set(e.key, e.expires);
    this.publish(allow, revoke, now);
  }

  private forget(key: string): void {
    const id = this.deviceOf.get(key);
    this.deviceOf.delete(key);
    if (id !== undefined && this.keyOf.get(id) === key) this.keyOf.delete(id);
  }

  private async findDevice(id: string): Promise<Device | null> {
    try {
      return await this.store.getDevice(id);
    } catch (error) {
      if (error instanceof StoreError && error.code === 'not-found') return null;
      throw error;
    }
  }

  // A key revoked and allowed again in one batch (moved to another device) is only allowed.
  private publish(allow: Map<string, number | null>, revoke: string[], now: number): void {
    const gone = [...new Set(revoke)].filter((key) => !this.keys.has(key, now));
    if (gone.length === 0 && allow.size === 0) return;
    if (gone.length > 0) this.revoked.emit(gone);
    this.changed.emit({ allow: [...allow].map(([key, expires]) => ({ key, expires })), revoke: gone });
  }
}
