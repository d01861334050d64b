import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { Device, Network, User } from '../store/types.js';

/**
 * The coordinator's memory of the store: devices, users, networks and accepted shares, loaded a
 * network at a time and then kept current from the change feed, so that working out a map never
 * waits on the database. Devices of other networks (those shared in) are loaded one by one.
 */
export class Directory {
  private readonly devices = new Map<string, Device>();
  private readonly loaded = new Map<string, Set<string>>();
  private readonly users = new Map<string, User>();
  private readonly networks = new Map<string, Network>();
  /** Accepted shares, both ways: recipient user -> devices, device -> recipient users. */
  private readonly sharedWith = new Map<string, Set<string>>();
  private readonly recipientsOf = new Map<string, Set<string>>();

  constructor(private readonly store: Store) {
    for (const share of store.listShares()) this.link(share.deviceId, share.recipientUserId);
  }

  /** The ids of the network's devices, loading the network on first use. */
  networkDevices(networkId: string): ReadonlySet<string> {
    let ids = this.loaded.get(networkId);
    if (ids === undefined) {
      ids = new Set();
      for (const user of this.store.listUsers(networkId)) this.users.set(user.id, user);
      for (const d of this.store.listDevices(networkId)) {
        this.devices.set(d.id, d);
        ids.add(d.id);
      }
      this.loaded.set(networkId, ids);
    }
    return ids;
  }

  /** The device, or undefined once it is deleted. */
  device(id: string): Device | undefined {
    let d = this.devices.get(id);
    if (d === undefined) {
      d = this.fetch(id);
      if (d !== undefined) this.devices.set(id, d);
    }
    return d;
  }

  /** Every device held in memory. */
  cachedDevices(): IterableIterator<Device> {
    return this.devices.values();
  }

  /**
   * Re-reads a device the feed says changed; returns it as it was and as it is now, and whether it
   * just joined a loaded network (a device looked up before its addition was seen is cached, but
   * is not yet one of its network's devices).
   */
  refresh(id: string): { before: Device | undefined; after: Device | undefined; joined: boolean } {
    const before = this.devices.get(id);
    const after = this.fetch(id);
    if (after === undefined) this.devices.delete(id);
    else this.devices.set(id, after);
    let joined = false;
    for (const [networkId, ids] of this.loaded) {
      if (after?.networkId === networkId) {
        joined = !ids.has(id);
        ids.add(id);
      } else ids.delete(id);
    }
    return { before, after, joined };
  }

  /** Re-reads a device's accepted shares; returns the recipient users whose view changed. */
  refreshShares(deviceId: string): string[] {
    const before = this.recipientsOf.get(deviceId) ?? new Set<string>();
    for (const userId of before) this.sharedWith.get(userId)?.delete(deviceId);
    this.recipientsOf.delete(deviceId);
    const after = this.store.sharesOfDevice(deviceId).map((s) => s.recipientUserId);
    for (const userId of after) this.link(deviceId, userId);
    return [...new Set([...before, ...after])].filter((u) => before.has(u) !== after.includes(u));
  }

  /** Devices shared with the user (from other users, usually of other networks). */
  sharedWithUser(userId: string): ReadonlySet<string> {
    return this.sharedWith.get(userId) ?? EMPTY;
  }

  /** Users a device is shared with. */
  recipients(deviceId: string): ReadonlySet<string> {
    return this.recipientsOf.get(deviceId) ?? EMPTY;
  }

  user(id: string): User {
    let u = this.users.get(id);
    if (u === undefined) {
      u = this.store.getUser(id);
      this.users.set(id, u);
    }
    return u;
  }

  /** The user's devices (loads the user's network). */
  userDevices(userId: string): Device[] {
    const ids = this.networkDevices(this.user(userId).networkId);
    const out: Device[] = [];
    for (const id of ids) {
      const d = this.devices.get(id);
      if (d?.userId === userId) out.push(d);
    }
    return out;
  }

  /** Logins of the network's users (loads the network). */
  memberNames(networkId: string): string[] {
    this.networkDevices(networkId);
    return [...this.users.values()].filter((u) => u.networkId === networkId).map((u) => u.name);
  }

  network(id: string): Network {
    let n = this.networks.get(id);
    if (n === undefined) {
      n = this.store.getNetwork(id);
      this.networks.set(id, n);
    }
    return n;
  }

  private fetch(id: string): Device | undefined {
    try {
      const d = this.store.getDevice(id);
      // A user first seen through a new device: their network's member list grows.
      if (!this.users.has(d.userId)) this.users.set(d.userId, this.store.getUser(d.userId));
      return d;
    } catch (error) {
      if (error instanceof StoreError && error.code === 'not-found') return undefined;
      throw error;
    }
  }

  private link(deviceId: string, userId: string): void {
    const devices = this.sharedWith.get(userId);
    if (devices === undefined) this.sharedWith.set(userId, new Set([deviceId]));
    else devices.add(deviceId);
    const users = this.recipientsOf.get(deviceId);
    if (users === undefined) this.recipientsOf.set(deviceId, new Set([userId]));
    else users.add(userId);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
