import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { ChangeRecord, Device, Network, NetworkDns, Policy, User } from '../store/types.js';

/**
 * What the store says about the records a batch of changes names, read before any of it is applied
 * (`Directory.read`), so that applying it (`refresh`, `refreshShares`) never waits on the database.
 */
export interface Fetched {
  /** Each changed device as it is now; undefined once deleted. */
  devices: Map<string, Device | undefined>;
  /** Recipient users of each device whose shares changed. */
  shares: Map<string, string[]>;
  /** Users and networks the directory did not hold yet (a new user's first device, a new network). */
  users: Map<string, User>;
  networks: Map<string, Network>;
  policies: Map<string, Policy | null>;
  dns: Map<string, NetworkDns>;
}

/**
 * The coordinator's memory of the store: every network, user, device, accepted share, policy and
 * DNS settings, loaded once (`load`) and then kept current from the change feed, so that working
 * out a map never waits on the database. The store is asynchronous: the feed's records are read
 * first (`read`, the only part that awaits) and applied after in one synchronous step, so nobody
 * ever sees the directory half updated.
 */
export class Directory {
  private readonly devices = new Map<string, Device>();
  private readonly byNetwork = new Map<string, Set<string>>();
  private readonly users = new Map<string, User>();
  private readonly networks = new Map<string, Network>();
  private readonly policies = new Map<string, Policy | null>();
  private readonly dns = new Map<string, NetworkDns>();
  /** Accepted shares, both ways: recipient user -> devices, device -> recipient users. */
  private readonly sharedWith = new Map<string, Set<string>>();
  private readonly recipientsOf = new Map<string, Set<string>>();

  private constructor(private readonly store: Store) {}

  /** Everything, from the store as it is now. */
  static async load(store: Store): Promise<Directory> {
    const dir = new Directory(store);
    for (const network of await store.listNetworks()) {
      const id = network.id;
      dir.networks.set(id, network);
      const [users, devices, policy, dns] = await Promise.all([
        store.listUsers(id),
        store.listDevices(id),
        store.getPolicy(id),
        store.getDnsSettings(id),
      ]);
      for (const user of users) dir.users.set(user.id, user);
      const ids = new Set<string>();
      for (const d of devices) {
        dir.devices.set(d.id, d);
        ids.add(d.id);
      }
      dir.byNetwork.set(id, ids);
      dir.policies.set(id, policy);
      dir.dns.set(id, dns);
    }
    for (const share of await store.listShares()) dir.link(share.deviceId, share.recipientUserId);
    return dir;
  }

  /** Reads from the store what `changes` concern; changes nothing here. */
  async read(changes: readonly ChangeRecord[]): Promise<Fetched> {
    const f: Fetched = {
      devices: new Map(),
      shares: new Map(),
      users: new Map(),
      networks: new Map(),
      policies: new Map(),
      dns: new Map(),
    };
    const needUser = async (id: string) => {
      if (!this.users.has(id) && !f.users.has(id)) f.users.set(id, await this.store.getUser(id));
      return (this.users.get(id) ?? f.users.get(id))!;
    };
    // A network first seen (created after the load) comes with its policy and DNS settings.
    const needNetwork = async (id: string) => {
      if (this.networks.has(id) || f.networks.has(id)) return;
      f.networks.set(id, await this.store.getNetwork(id));
      if (!f.policies.has(id)) f.policies.set(id, await this.store.getPolicy(id));
      if (!f.dns.has(id)) f.dns.set(id, await this.store.getDnsSettings(id));
    };
    for (const c of changes) {
      if (c.kind === 'policy-changed') f.policies.set(c.networkId, await this.store.getPolicy(c.networkId));
      else if (c.kind === 'dns-changed') {
        await needNetwork(c.networkId);
        f.dns.set(c.networkId, await this.store.getDnsSettings(c.networkId));
      } else if (c.deviceId !== null && !f.devices.has(c.deviceId)) {
        const d = await this.findDevice(c.deviceId);
        f.devices.set(c.deviceId, d);
        if (d !== undefined) {
          await needUser(d.userId);
          await needNetwork(d.networkId);
        }
      }
      if (c.kind === 'share-changed' && c.deviceId !== null && !f.shares.has(c.deviceId)) {
        const recipients = (await this.store.sharesOfDevice(c.deviceId)).map((s) => s.recipientUserId);
        f.shares.set(c.deviceId, recipients);
        for (const userId of recipients) await needNetwork((await needUser(userId)).networkId);
      }
    }
    return f;
  }

  /** The ids of the network's devices. */
  networkDevices(networkId: string): ReadonlySet<string> {
    return this.byNetwork.get(networkId) ?? EMPTY;
  }

  /** The device, or undefined once it is deleted. */
  device(id: string): Device | undefined {
    return this.devices.get(id);
  }

  /** Every device held in memory. */
  cachedDevices(): IterableIterator<Device> {
    return this.devices.values();
  }

  /**
   * Takes in a device the feed says changed, as `f` read it; returns it as it was and as it is
   * now, and whether it just joined its network.
   */
  refresh(
    id: string,
    f: Fetched,
  ): { before: Device | undefined; after: Device | undefined; joined: boolean } {
    this.takeRecords(f);
    const before = this.devices.get(id);
    const after = f.devices.get(id);
    if (after === undefined) this.devices.delete(id);
    else this.devices.set(id, after);
    if (before !== undefined && before.networkId !== after?.networkId)
      this.byNetwork.get(before.networkId)?.delete(id);
    let joined = false;
    if (after !== undefined) {
      let ids = this.byNetwork.get(after.networkId);
      if (ids === undefined) {
        ids = new Set();
        this.byNetwork.set(after.networkId, ids);
      }
      joined = !ids.has(id);
      ids.add(id);
    }
    return { before, after, joined };
  }

  /** Takes in a device's accepted shares, as `f` read them; returns the recipient users whose view changed. */
  refreshShares(deviceId: string, f: Fetched): string[] {
    this.takeRecords(f);
    const before = this.recipientsOf.get(deviceId) ?? new Set<string>();
    for (const userId of before) this.sharedWith.get(userId)?.delete(deviceId);
    this.recipientsOf.delete(deviceId);
    const after = f.shares.get(deviceId) ?? [];
    for (const userId of after) this.link(deviceId, userId);
    return [...new Set([...before, ...after])].filter((u) => before.has(u) !== after.includes(u));
  }

  /** The network's stored policy (null: none set), as last read. */
  policy(networkId: string): Policy | null {
    return this.policies.get(networkId) ?? null;
  }

  /** Takes in a policy the feed says changed, as `f` read it. */
  refreshPolicy(networkId: string, f: Fetched): void {
    if (f.policies.has(networkId)) this.policies.set(networkId, f.policies.get(networkId)!);
  }

  /** The network's DNS settings, as last read. */
  dnsSettings(networkId: string): NetworkDns {
    const dns = this.dns.get(networkId);
    if (dns === undefined) throw new StoreError('not-found', `network ${networkId} not found`);
    return dns;
  }

  /** Takes in DNS settings the feed says changed, as `f` read them. */
  refreshDns(networkId: string, f: Fetched): void {
    this.takeRecords(f);
    const dns = f.dns.get(networkId);
    if (dns !== undefined) this.dns.set(networkId, dns);
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
    const u = this.users.get(id);
    if (u === undefined) throw new StoreError('not-found', `user ${id} not found`);
    return u;
  }

  /** The user's devices. */
  userDevices(userId: string): Device[] {
    const out: Device[] = [];
    for (const id of this.networkDevices(this.user(userId).networkId)) {
      const d = this.devices.get(id);
      if (d?.userId === userId) out.push(d);
    }
    return out;
  }

  /** Logins of the network's users. */
  memberNames(networkId: string): string[] {
    return [...this.users.values()].filter((u) => u.networkId === networkId).map((u) => u.name);
  }

  network(id: string): Network {
    const n = this.networks.get(id);
    if (n === undefined) throw new StoreError('not-found', `network ${id} not found`);
    return n;
  }

  /** Users and networks first seen in `f` (a new user's first device, a new network). */
  private takeRecords(f: Fetched): void {
    for (const [id, user] of f.users) if (!this.users.has(id)) this.users.set(id, user);
    for (const [id, network] of f.networks) {
      if (this.networks.has(id)) continue;
      this.networks.set(id, network);
      this.policies.set(id, f.policies.get(id) ?? null);
      const dns = f.dns.get(id);
      if (dns !== undefined) this.dns.set(id, dns);
    }
  }

  private async findDevice(id: string): Promise<Device | undefined> {
    try {
      return await this.store.getDevice(id);
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
