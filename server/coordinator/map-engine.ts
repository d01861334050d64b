import { DEFAULT_BASE_DOMAIN } from '../../src/control/dns-settings.js';
import type { Netmap, NodeInfo, RelayRegion } from '../../src/control/messages.js';
import { type FilterRule, type Policy, parsePolicy } from '../../src/policy/index.js';
import type { Store } from '../store/store.js';
import type { ChangeRecord, Device } from '../store/types.js';
import { Bitset, DeviceIndex } from './bitset.js';
import { Directory, type Fetched } from './directory.js';
import { dnsSection } from './dns-section.js';
import { diffFilters } from './filter-diff.js';
import { type DeltaParts, deltaJson, NodeEntries, push } from './map-json.js';
import { NetworkView, policyFieldsDiffer, reachDiff } from './network-view.js';
import { admits, hostPrefixes } from './src-matcher.js';

/**
 * A batch of the change feed with what it concerns read from the store (`MapEngine.read`), ready to
 * apply without waiting; or, when the batch could not be given (null: pruned), the whole store read
 * again.
 */
export type FeedUpdate = { changes: readonly ChangeRecord[]; fetched: Fetched } | { reload: Directory };

/** Where a stream's messages go: the device's control channel. */
export interface StreamSink {
  /** A serialised server message (the engine assembles maps from cached JSON parts). */
  sendJson(json: string): void;
  close(reason: string): void;
}

interface Stream {
  readonly deviceId: string;
  readonly sink: StreamSink;
  /** The peers the device was sent, by DeviceIndex. */
  readonly visible: Bitset;
  filter: readonly FilterRule[];
}

enum Seen {
  No = 0,
  Peer = 1,
  /** Shared with the viewer's user: quarantined, it may not start connections. */
  Shared = 2,
}

const ALL_PORTS = { first: 0, last: 65535 };

/**
 * Works out every streaming device's map and, as the change feed moves, the least each one must be
 * told. A device's peers are those its policy lets it reach or that may reach it, plus shares.
 *
 * The cost of a change follows what it concerns, not the size of the server:
 * - a peer's endpoints, home relay, keys, online state or expiry: one visibility check per stream,
 *   and one cached JSON entry sent to the streams that see it;
 * - a device joining, leaving or changing what the policy sees: the network's policy is compiled
 *   again (cheap: compiled source lists are shared), each stream's filter is compared rule by rule
 *   and sent as a patch, and visibility is re-checked only for the devices whose reach changed;
 * - a policy change: each stream of that network is worked out in full, as a new policy may
 *   change every map;
 * - a change of a network's DNS settings: its section, made once, sent to the network's streams.
 *
 * Everything here but `open` and `read` is synchronous and works on memory only: an update is read
 * from the store first (`read`), then applied in one step (`apply`), so streams never see a map
 * half updated and no await sits between reading the engine's state and changing it. The caller
 * (Coordinator.poll) reads and applies one batch at a time.
 */
export class MapEngine {
  private dir: Directory;
  private readonly index = new DeviceIndex();
  private readonly views = new Map<string, NetworkView>();
  /** Each network's policy, parsed. */
  private readonly policies = new Map<string, Policy | null>();
  private readonly streams = new Map<string, Stream>();
  /** Devices' entries as peers see them. */
  private readonly entries = new NodeEntries(() => this.dir);
  /** Each network's DNS section, as JSON. */
  private readonly dns = new Map<string, string>();
  private nextExpiry = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly store: Store,
    dir: Directory,
    private readonly now: () => number,
    private readonly relays: () => readonly RelayRegion[],
    private readonly baseDomain: string,
  ) {
    this.dir = dir;
  }

  /** An engine over the store as it is now (everything is loaded here, once). */
  static async open(
    store: Store,
    now: () => number,
    /** The relay map; a function because the server's own region knows its port only once listening. */
    relays: () => readonly RelayRegion[] = () => [],
    /** Device names are HOST.NETWORK.<baseDomain>. */
    baseDomain = DEFAULT_BASE_DOMAIN,
  ): Promise<MapEngine> {
    return new MapEngine(store, await Directory.load(store), now, relays, baseDomain);
  }

  /** Reads what a batch of the change feed concerns (null: the feed was pruned, read everything). */
  async read(changes: readonly ChangeRecord[] | null): Promise<FeedUpdate> {
    if (changes === null) return { reload: await Directory.load(this.store) };
    return { changes, fetched: await this.dir.read(changes) };
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** The user owning the device. */
  owner(deviceId: string): string {
    return this.device(deviceId).userId;
  }

  /**
   * The device with this machine key, as this instance knows it (a scan: only for serving devices
   * read-only while the database is unreachable).
   */
  deviceByMachineKey(machineKey: string): Device | undefined {
    for (const d of this.dir.cachedDevices()) if (d.machineKey === machineKey) return d;
    return undefined;
  }

  /** The device's own entry, as its peers see it. */
  self(deviceId: string): NodeInfo {
    return this.entries.info(this.device(deviceId), false);
  }

  /** The device's whole map now (what a new stream would be sent). */
  netmap(deviceId: string): Netmap {
    return JSON.parse(this.fullMap(this.device(deviceId), 0, new Bitset()).json).map;
  }

  /** Starts streaming to a device: sends its full map, then deltas from `apply`. */
  attach(deviceId: string, sink: StreamSink, seq: number): void {
    const x = this.device(deviceId);
    this.streams.get(deviceId)?.sink.close('replaced by a newer connection');
    const visible = new Bitset();
    const { json, filter } = this.fullMap(x, seq, visible);
    this.streams.set(deviceId, { deviceId, sink, visible, filter });
    this.noteExpiry(x);
    sink.sendJson(json);
  }

  /** Stops streaming to the device if `sink` is still its stream; says whether it was. */
  detach(deviceId: string, sink: StreamSink): boolean {
    if (this.streams.get(deviceId)?.sink !== sink) return false;
    this.streams.delete(deviceId);
    return true;
  }

  /** Brings every stream up to date with a batch `read` made (a reload: resend full maps). */
  apply(update: FeedUpdate, seq: number): void {
    if ('reload' in update) {
      this.dir = update.reload;
      this.views.clear();
      this.policies.clear();
      this.dns.clear();
      for (const s of [...this.streams.values()]) {
        if (this.dir.device(s.deviceId) === undefined) this.drop(s, 'device deleted');
        else this.attach(s.deviceId, s.sink, seq);
      }
      return;
    }
    const { changes, fetched } = update;
    const changed = new Set<string>();
    const structural = new Map<string, boolean>(); // network -> whether its policy changed
    const mark = (networkId: string, policy = false) =>
      structural.set(networkId, (structural.get(networkId) ?? false) || policy);
    const shareDevices = new Set<string>();
    const dnsChanged = new Set<string>();
    for (const c of changes) {
      if (c.kind === 'policy-changed') {
        this.dir.refreshPolicy(c.networkId, fetched);
        this.policies.delete(c.networkId);
        mark(c.networkId, true);
      } else if (c.kind === 'dns-changed') {
        this.dir.refreshDns(c.networkId, fetched);
        this.dns.delete(c.networkId);
        dnsChanged.add(c.networkId);
      } else if (c.deviceId !== null) {
        changed.add(c.deviceId);
        if (c.kind === 'share-changed') shareDevices.add(c.deviceId);
      }
    }
    // Devices whose filters hold a share rule that names a changed device's user.
    const filterDirty = new Set<string>();
    for (const id of changed) {
      const { before, after, joined } = this.dir.refresh(id, fetched);
      if (after !== undefined) this.noteExpiry(after);
      if (before !== undefined && after !== undefined && !joined && !policyFieldsDiffer(before, after))
        continue;
      for (const d of [before, after]) {
        if (d === undefined) continue;
        mark(d.networkId);
        for (const shared of this.dir.sharedWithUser(d.userId)) filterDirty.add(shared);
      }
    }
    for (const id of shareDevices) {
      filterDirty.add(id);
      const device = this.dir.device(id);
      if (device !== undefined) mark(device.networkId);
      for (const userId of this.dir.refreshShares(id, fetched)) mark(this.dir.user(userId).networkId);
    }
    const reach = this.rebuildViews(structural);
    this.process(changed, structural, reach, filterDirty, seq, dnsChanged);
  }

  /** Takes devices whose node key has expired out of every map, and closes their own streams. */
  expire(seq: number): void {
    const now = this.now();
    if (now < this.nextExpiry) return;
    const expired = new Set<string>();
    let next = Number.POSITIVE_INFINITY;
    for (const d of this.dir.cachedDevices()) {
      if (d.keyExpiry === null) continue;
      if (d.keyExpiry <= now && d.keyExpiry >= this.nextExpiry) expired.add(d.id);
      else if (d.keyExpiry > now) next = Math.min(next, d.keyExpiry);
    }
    this.nextExpiry = next;
    if (expired.size > 0) this.process(expired, new Map(), new Map(), new Set(), seq);
  }

  /** Keeps the next expiry check no later than the device's expiry. */
  private noteExpiry(d: Device): void {
    if (d.keyExpiry !== null && d.keyExpiry > this.now())
      this.nextExpiry = Math.min(this.nextExpiry, d.keyExpiry);
  }

  /**
   * Replaces the compiled views of networks whose devices or policy changed. Returns, per network
   * whose policy stayed, the devices whose membership of some rule's sources changed: only their
   * reach (and the changed devices') can differ.
   */
  private rebuildViews(structural: Map<string, boolean>): Map<string, Set<string>> {
    const reach = new Map<string, Set<string>>();
    for (const [networkId, policyChanged] of structural) {
      const old = this.views.get(networkId);
      if (old === undefined) continue;
      this.views.delete(networkId);
      if (policyChanged) continue;
      const devices = reachDiff(old, this.view(networkId));
      if (devices === null) {
        structural.set(networkId, true);
        continue;
      }
      reach.set(networkId, devices);
    }
    return reach;
  }

  private process(
    changed: ReadonlySet<string>,
    structural: ReadonlyMap<string, boolean>,
    reach: ReadonlyMap<string, ReadonlySet<string>>,
    filterDirty: ReadonlySet<string>,
    seq: number,
    dnsChanged: ReadonlySet<string> = new Set(),
  ): void {
    const now = this.now();
    for (const s of [...this.streams.values()]) {
      const x = this.dir.device(s.deviceId);
      if (x === undefined) {
        this.drop(s, 'device deleted');
        continue;
      }
      if (x.keyExpiry !== null && x.keyExpiry <= now) {
        this.drop(s, 'node key expired: log in again');
        continue;
      }
      const delta: DeltaParts = {};
      if (changed.has(x.id)) delta.self = this.entries.json(x, false);
      if (dnsChanged.has(x.networkId)) delta.dns = this.dnsJson(x.networkId);
      const networkChanged = structural.has(x.networkId);
      const moved = reach.get(x.networkId);
      let full = structural.get(x.networkId) === true || filterDirty.has(x.id) || (moved?.has(x.id) ?? false);
      if (networkChanged || filterDirty.has(x.id)) {
        const filter = this.filterFor(x);
        const diff = diffFilters(s.filter, filter);
        if (diff.kind === 'replace') {
          delta.filter = JSON.stringify(filter);
          full = true;
        } else if (diff.kind === 'patch') delta.filterPatch = diff.patch;
        s.filter = filter;
      }
      if (networkChanged && changed.has(x.id)) full = true;
      if (full) this.recomputePeers(s, x, changed, delta);
      else {
        for (const id of changed) this.recheck(s, x, id, changed, delta);
        for (const id of moved ?? []) if (!changed.has(id)) this.recheck(s, x, id, changed, delta);
      }
      const json = deltaJson(seq, delta);
      if (json !== null) s.sink.sendJson(json);
    }
  }

  private drop(s: Stream, reason: string): void {
    this.streams.delete(s.deviceId);
    s.sink.close(reason);
  }

  /** Compares one device's visibility to the stream with what it was sent. */
  private recheck(s: Stream, x: Device, id: string, changed: ReadonlySet<string>, delta: DeltaParts): void {
    if (id === x.id) return;
    const i = this.index.of(id);
    const y = this.dir.device(id);
    const seen = y === undefined ? Seen.No : this.seen(x, y);
    const had = s.visible.has(i);
    if (seen !== Seen.No && y !== undefined) {
      if (!had) {
        s.visible.add(i);
        push(delta, 'added', this.entries.json(y, seen === Seen.Shared));
      } else if (changed.has(id)) push(delta, 'changed', this.entries.json(y, seen === Seen.Shared));
    } else if (had) {
      s.visible.delete(i);
      push(delta, 'removed', id);
    }
  }

  private recomputePeers(s: Stream, x: Device, changed: ReadonlySet<string>, delta: DeltaParts): void {
    const ids = new Set(this.candidates(x));
    for (const i of s.visible) ids.add(this.index.id(i));
    for (const id of ids) this.recheck(s, x, id, changed, delta);
  }

  /** Devices that might be the device's peers: its network's, and those a share links it with. */
  private *candidates(x: Device): Iterable<string> {
    yield* this.dir.networkDevices(x.networkId);
    yield* this.dir.sharedWithUser(x.userId);
    for (const userId of this.dir.recipients(x.id)) for (const d of this.dir.userDevices(userId)) yield d.id;
  }

  /** Whether (and how) `x`'s map shows `y`. */
  private seen(x: Device, y: Device): Seen {
    if (y.id === x.id || (y.keyExpiry !== null && y.keyExpiry <= this.now())) return Seen.No;
    if (y.networkId === x.networkId) {
      const view = this.view(x.networkId);
      return admits(view.filterOf(x.id), y) || admits(view.filterOf(y.id), x) ? Seen.Peer : Seen.No;
    }
    if (this.dir.sharedWithUser(x.userId).has(y.id)) return Seen.Shared;
    if (this.dir.recipients(x.id).has(y.userId)) return Seen.Peer;
    return Seen.No;
  }

  /** The device's inbound filter: its policy's rules, and one admitting the users it is shared with. */
  private filterFor(x: Device): readonly FilterRule[] {
    const own = this.view(x.networkId).filterOf(x.id);
    const recipients = this.dir.recipients(x.id);
    if (recipients.size === 0) return own;
    const srcIps = [...recipients].flatMap((u) => this.dir.userDevices(u).flatMap((d) => hostPrefixes(d)));
    if (srcIps.length === 0) return own;
    const dstPorts = hostPrefixes(x).map((ip) => ({ ip, ports: ALL_PORTS }));
    return [...own, { srcIps, dstPorts, protocols: [] }];
  }

  private fullMap(x: Device, seq: number, visible: Bitset): { json: string; filter: readonly FilterRule[] } {
    const peers: string[] = [];
    for (const id of new Set(this.candidates(x))) {
      const y = this.dir.device(id);
      if (y === undefined) continue;
      const seen = this.seen(x, y);
      if (seen === Seen.No) continue;
      visible.add(this.index.of(id));
      peers.push(this.entries.json(y, seen === Seen.Shared));
    }
    const filter = this.filterFor(x);
    const json =
      `{"type":"full-map","seq":${seq},"map":{"self":${this.entries.json(x, false)},` +
      `"peers":[${peers.join(',')}],"filter":${JSON.stringify(filter)},"relays":${JSON.stringify(this.relays())},` +
      `"dns":${this.dnsJson(x.networkId)}}}`;
    return { json, filter };
  }

  private dnsJson(networkId: string): string {
    let json = this.dns.get(networkId);
    if (json === undefined) {
      const section = dnsSection(
        this.dir.network(networkId),
        this.dir.dnsSettings(networkId),
        this.baseDomain,
      );
      json = JSON.stringify(section);
      this.dns.set(networkId, json);
    }
    return json;
  }

  private view(networkId: string): NetworkView {
    let view = this.views.get(networkId);
    if (view === undefined) {
      let policy = this.policies.get(networkId);
      if (policy === undefined) {
        const stored = this.dir.policy(networkId);
        policy = stored ? parsePolicy(stored.text) : null;
        this.policies.set(networkId, policy);
      }
      view = new NetworkView(this.dir, networkId, policy);
      this.views.set(networkId, view);
    }
    return view;
  }

  private device(id: string): Device {
    const d = this.dir.device(id);
    if (d === undefined) throw new Error(`device ${id} does not exist`);
    return d;
  }
}
