import type { LookupFunction } from 'node:net';
import type { RelayRegion } from '../../src/control/messages.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import { decodeKey } from '../../src/wireguard/keys.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import { RelayClient, type RelayClientOptions } from './relay-client.js';

export interface RelaySetOptions {
  node: StaticKeyPair;
  crypto: CryptoProvider;
  random: (n: number) => Uint8Array;
  /** Every packet relayed to this device, from any region (the one that carried it); the packets
   * of one relay frame come together. */
  onPacket(src: Uint8Array, packets: Uint8Array[], region: RelayRegion): void;
  /** The home region changed (peers must be told: they send to us through it). */
  onHomeChange(region: RelayRegion | null): void;
  log(message: string): void;
  /** How the relays' host names are looked up; by default, DNS. */
  lookup?: LookupFunction;
  /** For tests: options passed to every client. */
  client?: Partial<RelayClientOptions>;
  /** For tests: how long an unused connection lives (default 60 s), and how often that is checked (10 s). */
  idleMs?: number;
  tickMs?: number;
}

/** A region not used for sending this long is disconnected (the home region never is). */
const IDLE_MS = 60_000;
/**
 * A region whose connection was closed while down is remembered as down: packets for peers homed
 * there keep going through our home, and the region is tried again in the background at most this
 * often, rather than by the next packet (which would wait out a connection attempt, up to 10 s
 * toward a host that vanished).
 */
const RETRY_DOWN_MS = 60_000;
/** How often the home region's latency is compared with the others'. */
const REPROBE_MS = 5 * 60_000;
const PROBE_TIMEOUT_MS = 3000;
/**
 * How long the home region may stay disconnected before the regions are measured again and the
 * best reachable one becomes home: long enough for a relay that restarts to be reconnected to (the
 * client's first retries come within a second or two), short enough that a device whose relay's
 * instance died is reachable again through another within seconds.
 */
const REHOME_MS = 3000;

interface Connection {
  region: RelayRegion;
  client: RelayClient;
  lastUsed: number;
}

/**
 * The device's relay connections: one to its home region, the region with the lowest latency,
 * where peers send to it; others on demand, to send to peers whose home is elsewhere (as
 * Tailscale's DERP does: relays never forward between themselves). Regions without a public key in
 * the relay map are skipped: a relay is only used with its key pinned.
 *
 * When the home region's connection stays down (its burrow-server instance died, say), the
 * regions are measured again and the best one still reachable becomes home. A packet for a peer
 * whose home region is down goes through our own home instead: the peer has most likely moved
 * there, and the control server may not have told us yet (or cannot: it may be the one that died).
 */
export class RelaySet {
  private regions: RelayRegion[] = [];
  private readonly connections = new Map<number, Connection>();
  /** Regions whose connection was closed while down, and when (see RETRY_DOWN_MS). */
  private readonly downAt = new Map<number, number>();
  private homeId: number | null = null;
  private probing: Promise<void> | null = null;
  private lastProbe = performance.now();
  private readonly timer: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(private readonly options: RelaySetOptions) {
    this.timer = setInterval(() => this.housekeep(), options.tickMs ?? 10_000);
    this.timer.unref();
  }

  get home(): RelayRegion | null {
    return this.homeId === null ? null : (this.connections.get(this.homeId)?.region ?? null);
  }

  /** The relay map from the control server; a change of regions probes them again. */
  setRegions(regions: readonly RelayRegion[]): void {
    const usable = regions.filter((r) => r.publicKey !== undefined);
    const same =
      usable.length === this.regions.length &&
      usable.every((r, i) => JSON.stringify(r) === JSON.stringify(this.regions[i]));
    if (same) return;
    // A region that changed (or went) is no longer known to be down.
    for (const id of [...this.downAt.keys()]) {
      const before = JSON.stringify(this.regions.find((r) => r.id === id));
      if (before !== JSON.stringify(usable.find((r) => r.id === id))) this.downAt.delete(id);
    }
    this.regions = usable;
    for (const [id, c] of this.connections) {
      const now = usable.find((r) => r.id === id);
      if (now === undefined || JSON.stringify(now) !== JSON.stringify(c.region)) this.disconnect(id);
    }

    if (this.homeId !== null && !this.connections.has(this.homeId)) this.setHome(null);
    void this.probe();
  }

  region(id: number): RelayRegion | undefined {
    return this.regions.find((r) => r.id === id);
  }

  /** Whether packets for a peer homed in `regionId` can go out now (see `via`). */
  connected(regionId: number | null): boolean {
    const id = this.via(regionId);
    return id !== null && this.connections.get(id)?.client.connected === true;
  }

  /**
   * The region that carries packets for a peer homed in `regionId`: that one, unless it is not in
   * our map (then ours), or its connection is down while ours is up (then ours: see the class
   * comment). Null while we have no home and the peer's is unknown.
   */
  via(regionId: number | null): number | null {
    if (regionId === null || this.region(regionId) === undefined) return this.homeId;
    const home = this.homeId === null ? undefined : this.connections.get(this.homeId);
    if (regionId !== this.homeId && this.isDown(regionId) && home?.client.connected) return this.homeId;
    return regionId;
  }

  /** Whether the region's connection is down, or was when it was closed (and is not retried yet). */
  private isDown(id: number): boolean {
    const c = this.connections.get(id);
    return c === undefined
      ? this.downAt.has(id)
      : c.client.down || (this.downAt.has(id) && !c.client.connected);
  }

  /**
   * Sends a packet to the device with node key `dst`, homed in `regionId` (null: unknown), through
   * the region `via` picks. False if it could not go out now.
   */
  send(regionId: number | null, dst: Uint8Array, packet: Uint8Array): boolean {
    const id = this.via(regionId);
    if (id === null) return false;
    // A region remembered as down is tried again in the background, at most every RETRY_DOWN_MS.
    const downAt = regionId === null ? undefined : this.downAt.get(regionId);
    if (regionId !== null && id !== regionId && downAt !== undefined && !this.connections.has(regionId)) {
      if (performance.now() - downAt > RETRY_DOWN_MS) this.connection(regionId);
    }
    const c = this.connection(id);
    if (c === undefined) return false;
    c.lastUsed = performance.now();
    return c.client.send(dst, packet);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const id of [...this.connections.keys()]) this.disconnect(id);
  }

  /** Connects to every region, measures each, and makes the fastest the home. */
  private probe(): Promise<void> {
    if (this.probing) return this.probing;
    const run = async () => {
      const results = await Promise.all(
        this.regions.map(async (region) => {
          const c = this.connection(region.id);
          if (c === undefined) return { region, ms: Number.POSITIVE_INFINITY };
          try {
            await withTimeout(c.client.ready(), PROBE_TIMEOUT_MS);
            const ms = Math.min(await c.client.ping(PROBE_TIMEOUT_MS), await c.client.ping(PROBE_TIMEOUT_MS));
            return { region, ms };
          } catch {
            return { region, ms: Number.POSITIVE_INFINITY };
          }
        }),
      );
      if (this.closed) return;
      results.sort((a, b) => a.ms - b.ms);
      const best = results[0];
      // Without any answer, keep a home anyway (the one we had, if any): its client keeps
      // reconnecting, and peers need one.
      const current = this.homeId === null ? undefined : this.region(this.homeId);
      const home = best === undefined ? null : !Number.isFinite(best.ms) && current ? current : best.region;
      if (best && Number.isFinite(best.ms))
        this.options.log(`relay: home region ${best.region.name} (${best.ms.toFixed(1)} ms)`);
      if (home?.id !== this.homeId) this.setHome(home);
      this.housekeep();
    };
    this.probing = run().finally(() => {
      this.probing = null;
    });
    return this.probing;
  }

  private setHome(region: RelayRegion | null): void {
    this.homeId = region?.id ?? null;
    if (region) this.connection(region.id);
    this.options.onHomeChange(region);
  }

  /** Measures the regions again if the home region `id` is still down after REHOME_MS. */
  private watchHome(id: number, client: RelayClient): void {
    const timer = setTimeout(() => {
      if (this.closed || this.homeId !== id || client.connected) return;
      this.options.log(`relay: home region ${this.region(id)?.name ?? id} is down; measuring the others`);
      void this.probe();
    }, REHOME_MS);
    timer.unref();
  }

  private housekeep(): void {
    const now = performance.now();
    for (const [id, c] of this.connections) {
      if (id !== this.homeId && now - c.lastUsed > (this.options.idleMs ?? IDLE_MS)) {
        if (c.client.down) this.downAt.set(id, now);
        this.disconnect(id);
      }
    }
    if (now - this.lastProbe > REPROBE_MS || (this.homeId === null && this.regions.length > 0)) {
      this.lastProbe = now;
      void this.probe();
    }
  }

  private connection(id: number): Connection | undefined {
    const existing = this.connections.get(id);
    if (existing) return existing;
    if (this.closed) return undefined;
    const region = this.region(id);
    if (region?.publicKey === undefined) return undefined;
    const client = new RelayClient({
      url: region.url,
      relayPublicKey: decodeKey(region.publicKey),
      node: this.options.node,
      crypto: this.options.crypto,
      random: this.options.random,
      now: Date.now,
      keepaliveMs: 15_000,
      maxBackoffMs: 5000,
      ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
      ...this.options.client,
    });
    client.onPacket((src, packets) => this.options.onPacket(src, packets, region));
    client.onConnectionChange((up, reason) => {
      this.options.log(`relay ${region.name}: ${up ? 'connected' : `disconnected (${reason})`}`);
      if (up) this.downAt.delete(id);
      if (!up && id === this.homeId) this.watchHome(id, client);
    });
    client.onHealth((message) => this.options.log(`relay ${region.name} says: ${message}`));
    const c = { region, client, lastUsed: performance.now() };
    this.connections.set(id, c);
    return c;
  }

  private disconnect(id: number): void {
    this.connections.get(id)?.client.close();
    this.connections.delete(id);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
