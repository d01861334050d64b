import { parseControlUrls } from '../../src/control/control-urls.js';
import type { Netmap } from '../../src/control/messages.js';
import { randomBytes } from '../../src/crypto/index.js';
import type { BackendState, Event, Prefs, PrefsPatch } from '../../src/localapi/api.js';
import { clampPrivateKey } from '../../src/wireguard/keys.js';
import type { Peer } from '../../src/wireguard/peer.js';
import type { ControlClient, ControlState } from '../control/client.js';
import { LocalApiError } from '../localapi/server.js';
import { ExitNodeNat } from '../routing/exit-node.js';
import { removeStaleRouting } from '../routing/linux-routing.js';
import { monotonic } from './clock.js';
import { lanPrefixes } from './lan.js';
import { LastKnownAddresses } from './last-known-addresses.js';
import type { Log } from './log.js';
import { meshControlClient } from './mesh-control.js';
import { MeshDns } from './mesh-dns.js';
import { MeshFilter } from './mesh-filter.js';
import { pingPeer } from './mesh-ping.js';
import { shareListOf } from './mesh-shares.js';
import { buildStatus, exitNodeList, findPeer } from './mesh-status.js';
import { MeshTrace } from './mesh-trace.js';
import { planMesh } from './peer-sync.js';
import { Pinger } from './pinger.js';
import { type DeviceKeys, StateDir } from './state-dir.js';
import { type InterfaceGoneError, Tunnel } from './tunnel.js';

export interface MeshOptions {
  stateDir: string;
  tun: string;
  port: number;
  version: string;
  log: Log;
  /** The tunnel's interface went away under it (tunnel.ts): burrowd must stop. */
  onInterfaceGone: (error: InterfaceGoneError) => void;
}

export interface UpRequest {
  controlUrl?: string;
  authKey?: string;
  hostname?: string;
  advertiseRoutes?: string[];
  advertiseExitNode?: boolean;
  acceptRoutes?: boolean;
  acceptDns?: boolean;
}

/**
 * burrowd as a mesh node: follows the netmap from the control server and keeps the tunnel (peers,
 * routes, packet filter, exit node) in line with it and with the user's prefs. The data plane does
 * not depend on the control plane: the last netmap is kept on disk, so the tunnel comes back after
 * a restart even while the server is unreachable, and stays up through any outage.
 */
export class MeshNode {
  private readonly state: StateDir;
  private prefs: Prefs;
  private keys: DeviceKeys;
  private control: ControlClient | null = null;
  private tunnel: Tunnel | null = null;
  private netmap: Netmap | null = null;
  private backend: BackendState = 'stopped';
  private authUrl: string | null = null;
  private controlConnected = false;
  /** What is wrong with the control connection, for `burrow status`. */
  private health: string[] = [];
  /** What is wrong with the map as applied (the exit node, the packet filter), for `burrow status`. */
  private mapHealth: string[] = [];
  private readonly filter = new MeshFilter();
  /** The resolver and the system's DNS (MagicDNS). */
  readonly dns: MeshDns;
  private readonly nat: ExitNodeNat;
  /** Where the control server and the relays are, also while DNS cannot be reached. */
  private readonly servers: LastKnownAddresses;
  private readonly pinger: Pinger;
  /** `burrow trace`: its probes and delivery checks in the datapath, and the trace itself. */
  readonly tracer: MeshTrace;
  private readonly subscribers = new Set<(e: Event) => void>();
  /** Tunnel changes run one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  /** Peers' paths as last told to subscribers (see notePathChanges). */
  private lastPaths = '';
  private readonly pathTimer: ReturnType<typeof setInterval>;

  constructor(private readonly options: MeshOptions) {
    this.state = new StateDir(options.stateDir);
    this.prefs = this.state.prefs();
    this.keys = this.state.keys(randomBytes, clampPrivateKey);
    this.netmap = this.state.netmap()?.map ?? null;
    this.nat = new ExitNodeNat(options.tun, {
      load: () => this.state.forwarding(),
      save: (values) => this.state.saveForwarding(values),
    });
    this.servers = new LastKnownAddresses(
      { load: () => this.state.knownHosts(), save: (hosts) => this.state.saveKnownHosts(hosts) },
      (m) => options.log.info(`addresses: ${m}`),
    );
    this.dns = new MeshDns({ tun: options.tun, stateDir: options.stateDir, log: options.log });
    this.pinger = new Pinger((p) => this.tunnel?.inject(p), monotonic);
    this.tracer = new MeshTrace({
      netmap: () => this.netmap,
      prefs: () => this.prefs,
      iface: options.tun,
      backendState: () => this.backend,
      tunnel: () => this.tunnel,
      filter: this.filter,
      dns: this.dns,
      pinger: this.pinger,
    });
    this.pathTimer = setInterval(() => this.notePathChanges(), 1000);
    this.pathTimer.unref();
  }

  /** Comes back as the user left it: up if they wanted it up. */
  async start(): Promise<void> {
    // What a killed burrowd left: its exit-node table and forwarding, its rules and table 52.
    // And the resolv.conf it had changed.
    await Promise.all([this.nat.removeStale(), removeStaleRouting(), this.dns.start()]);
    if (this.prefs.wantRunning && this.prefs.controlUrl !== null) await this.goUp();
  }

  async close(): Promise<void> {
    clearInterval(this.pathTimer);
    await this.stopControl();
    await this.serial(() => this.closeTunnel());
  }

  subscribe(send: (e: Event) => void): () => void {
    send({ type: 'state', backendState: this.backend, authUrl: this.authUrl });
    send({ type: 'netmap', status: this.status() });
    this.subscribers.add(send);
    return () => this.subscribers.delete(send);
  }

  status() {
    return buildStatus({
      version: this.options.version,
      backendState: this.backend,
      authUrl: this.authUrl,
      netmap: this.netmap,
      prefs: this.prefs,
      controlConnected: this.controlConnected,
      peer: (nodeKey) => this.wgPeer(nodeKey),
      path: (nodeKey) => this.tunnel?.pathOf(nodeKey) ?? null,
      now: Date.now(),
      health: [...this.health, ...this.mapHealth, ...this.dns.health()],
      fastPath: this.tunnel?.fastPathStatus() ?? null,
      traceProbes: this.tracer.counters(),
      ...(this.tunnel ? { portMapping: this.tunnel.portMappingStatus() } : {}),
    });
  }

  getPrefs(): Prefs {
    return this.prefs;
  }

  async setPrefs(patch: PrefsPatch): Promise<Prefs> {
    const next: Prefs = { ...this.prefs };
    for (const [key, value] of Object.entries(patch))
      if (value !== undefined) (next as Record<string, unknown>)[key] = value;
    if (patch.exitNode !== undefined && patch.exitNode !== null && patch.exitNode !== '') {
      const node = findPeer(this.netmap, patch.exitNode);
      if (!node) throw new LocalApiError(404, `no peer "${patch.exitNode}"`);
      if (!node.exitNodeOption) throw new LocalApiError(409, `${node.name} is not an approved exit node`);
      next.exitNode = node.id;
    }
    if (patch.exitNode === '') next.exitNode = null;
    const controlChanged = next.controlUrl !== this.prefs.controlUrl || next.hostname !== this.prefs.hostname;
    this.savePrefs(next);
    if (controlChanged && this.prefs.wantRunning) {
      await this.stopControl();
      await this.goUp();
    } else {
      this.control?.advertiseRoutes(next.advertiseRoutes, next.advertiseExitNode);
      await this.serial(() => this.applyNetmap());
    }
    return this.prefs;
  }

  async up(request: UpRequest): Promise<{ backendState: BackendState; authUrl: string | null }> {
    const controlUrl = request.controlUrl ?? this.prefs.controlUrl;
    if (controlUrl === null) throw new LocalApiError(400, 'no control server yet: give --login-server URL');
    this.savePrefs({
      ...this.prefs,
      controlUrl,
      wantRunning: true,
      ...(request.hostname !== undefined ? { hostname: request.hostname } : {}),
      ...(request.advertiseRoutes !== undefined ? { advertiseRoutes: request.advertiseRoutes } : {}),
      ...(request.advertiseExitNode !== undefined ? { advertiseExitNode: request.advertiseExitNode } : {}),
      ...(request.acceptRoutes !== undefined ? { acceptRoutes: request.acceptRoutes } : {}),
      ...(request.acceptDns !== undefined ? { acceptDns: request.acceptDns } : {}),
    });
    if (request.authKey !== undefined || this.control === null) {
      await this.stopControl();
      await this.goUp(request.authKey);
    }
    await this.waitForProgress();
    return { backendState: this.backend, authUrl: this.authUrl };
  }

  async down(): Promise<{ backendState: BackendState }> {
    this.savePrefs({ ...this.prefs, wantRunning: false });
    await this.stopControl();
    await this.serial(() => this.closeTunnel());
    this.setBackend('stopped', null);
    return { backendState: this.backend };
  }

  /** Forgets this device's identity on the network: a new node key, no map; the next `up` logs in again. */
  async logout(): Promise<{ backendState: BackendState }> {
    await this.down();
    this.keys = { ...this.keys, node: clampPrivateKey(randomBytes(32)) };
    this.state.writeKeys(this.keys);
    this.netmap = null;
    this.state.saveNetmap(0, null);
    this.setBackend('needs-login', null);
    return { backendState: this.backend };
  }

  /** `burrow ping`: see pingPeer. */
  ping(ref: string, timeoutMs: number) {
    return pingPeer(this.netmap, this.tunnel !== null, this.pinger, ref, timeoutMs);
  }

  listExitNodes() {
    return exitNodeList(this.netmap, this.prefs);
  }

  /** The control client, for the share operations (they need the server). */
  get controlClient(): ControlClient {
    if (this.control === null || !this.controlConnected)
      throw new LocalApiError(503, 'the control server is not reachable now');
    return this.control;
  }

  private async goUp(authKey?: string): Promise<void> {
    const controlUrl = this.prefs.controlUrl!;
    await this.serial(async () => {
      if (this.tunnel === null) {
        const tunnel = new Tunnel(
          this.options.tun,
          this.keys,
          this.options.log,
          () => this.control?.updateEndpoints(),
          this.servers.lookup,
          this.options.onInterfaceGone,
        );
        await tunnel.open(this.options.port, this.filter.gate([this.pinger, ...this.tracer.taps]));
        this.tunnel = tunnel;
      }
      await this.applyNetmap();
    });
    this.setBackend(this.netmap ? 'running' : 'starting', null);
    const control = meshControlClient({
      controlUrl,
      pinned: this.state.controlKey(controlUrl),
      keys: this.keys,
      hostname: this.prefs.hostname,
      ...(authKey ? { authKey } : {}),
      tunnel: () => this.tunnel,
      lookup: this.servers.lookup,
      log: this.options.log,
    });
    control.on('state', (s) => this.onControlState(control, s));
    control.on('sharesChanged', () => this.refreshInvites(control));
    control.on('netmap', (map, seq) => {
      this.netmap = map;
      this.state.saveNetmap(seq, map);
      void this.serial(() => this.applyNetmap()).then(() =>
        this.emit({ type: 'netmap', status: this.status() }),
      );
      if (this.backend !== 'running') this.setBackend('running', null);
    });
    control.advertiseRoutes(this.prefs.advertiseRoutes, this.prefs.advertiseExitNode);
    this.control = control;
    control.start();
  }

  private onControlState(control: ControlClient, s: ControlState): void {
    if (control !== this.control) return;
    this.controlConnected = s.state === 'connected';
    if (s.state === 'connected' && control.serverPublicKey && this.prefs.controlUrl)
      this.state.saveControlKey(this.prefs.controlUrl, control.serverPublicKey);
    if (s.state === 'login-required') this.setBackend('needs-login', s.url);
    else if (s.state === 'refused') {
      this.health = [`the control server refused this device: ${s.reason}`];
      this.setBackend('needs-login', null);
    } else if (s.state === 'offline') {
      this.health = [`the control server is unreachable (${s.reason}); the tunnel keeps its last map`];
      this.emit({ type: 'netmap', status: this.status() });
    } else if (s.state === 'connected') {
      this.health = [];
      this.refreshInvites(control);
    }
  }

  /** Tells the event stream the user's invites and shares, after they changed (or on connecting). */
  private refreshInvites(control: ControlClient): void {
    if (this.subscribers.size === 0) return;
    control.listShares().then(
      (lists) => this.emit({ type: 'invites', shares: shareListOf(lists) }),
      (error) => this.options.log.debug(`listing shares: ${(error as Error).message}`),
    );
  }

  /** Waits briefly for `up` to show where it is going (running, or a login URL), for the caller. */
  private async waitForProgress(): Promise<void> {
    for (let i = 0; i < 100 && this.backend === 'starting'; i++) await new Promise((r) => setTimeout(r, 50));
  }

  private async stopControl(): Promise<void> {
    const control = this.control;
    this.control = null;
    this.controlConnected = false;
    await control?.stop();
  }

  /** Brings the tunnel in line with the netmap and prefs. Runs inside `serial`. */
  private async applyNetmap(): Promise<void> {
    const tunnel = this.tunnel;
    const map = this.netmap;
    if (tunnel === null || map === null) return;
    if (this.filter.update(map, this.prefs.shieldsUp)) {
      const refusal = this.filter.refusal;
      if (refusal === null) this.options.log.info("filter: the control server's packet filter applies again");
      else this.options.log.error(`filter: refused the control server's packet filter: ${refusal}`);
    }
    const plan = planMesh(map, this.prefs, Date.now());
    const throws: string[] = [];
    if (this.prefs.exitNode !== null) {
      // The control and relay connections are not marked like the tunnel's UDP: keep them out of table 52.
      const hosts = new Set(map.relays.map((r) => new URL(r.url).hostname));
      const controlUrls = this.prefs.controlUrl === null ? [] : parseControlUrls(this.prefs.controlUrl);
      for (const url of controlUrls) hosts.add(new URL(url).hostname);
      throws.push(...(await this.servers.hostPrefixes(hosts)));
      if (this.prefs.exitNodeAllowLanAccess) throws.push(...(await lanPrefixes(this.options.tun)));
    }
    this.mapHealth = [];
    if (plan.exitNodeMissing)
      this.mapHealth.push(
        'exit node unavailable: internet traffic is blocked until it returns or you choose another',
      );
    if (this.filter.refusal !== null)
      this.mapHealth.push(
        `the control server's packet filter was refused (${this.filter.refusal}); the previous one stays in force`,
      );
    await tunnel.apply(map.self.ips, plan, [...new Set(throws)], map.relays);
    await this.dns.apply(map, this.prefs.acceptDns);
    const serve = this.prefs.advertiseExitNode || this.prefs.advertiseRoutes.length > 0;
    if (serve) await this.nat.enable();
    else await this.nat.disable();
  }

  private async closeTunnel(): Promise<void> {
    this.pinger.cancelAll();
    this.tracer.cancelAll();
    await this.dns.stop();
    await this.nat.disable();
    await this.tunnel?.close();
    this.tunnel = null;
  }

  private wgPeer(nodeKey: string): Peer | undefined {
    return this.tunnel?.device.getPeer(Buffer.from(nodeKey, 'base64'));
  }

  private serial(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(step, step);
    this.queue = run.catch((error) => this.options.log.error(`tunnel: ${(error as Error).message}`));
    return run;
  }

  private savePrefs(prefs: Prefs): void {
    this.prefs = prefs;
    this.state.savePrefs(prefs);
  }

  private setBackend(state: BackendState, authUrl: string | null): void {
    this.backend = state;
    this.authUrl = authUrl;
    this.emit({ type: 'state', backendState: state, authUrl });
  }

  /**
   * Paths change without a netmap change (a handshake completes, a path turns direct or falls back
   * to the relay): subscribers hear of it within a second, so the app never shows a stale path.
   * Byte counters and latencies are left out of the comparison: they change all the time.
   */
  private notePathChanges(): void {
    if (this.subscribers.size === 0) return;
    const status = this.status();
    const paths = JSON.stringify(
      status.peers.map((p) => [p.id, p.path, p.endpoint, p.relay, p.lastHandshake]),
    );
    if (paths === this.lastPaths) return;
    this.lastPaths = paths;
    this.emit({ type: 'netmap', status });
  }

  private emit(event: Event): void {
    for (const send of this.subscribers) send(event);
  }
}
