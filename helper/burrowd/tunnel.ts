import type { LookupFunction } from 'node:net';
import type { RelayRegion } from '../../src/control/messages.js';
import { randomBytes } from '../../src/crypto/index.js';
import type { Status } from '../../src/localapi/api.js';
import type { Action } from '../../src/wireguard/actions.js';
import { Device } from '../../src/wireguard/device.js';
import { PeerField } from '../../src/wireguard/fast-path.js';
import { decodeKey } from '../../src/wireguard/keys.js';
import type { Peer } from '../../src/wireguard/peer.js';
import { openBind } from '../bind/linux-bind.js';
import { helperCrypto } from '../crypto/native-crypto.js';
import { fastPathEnabled, NativeFastEngine } from '../fastpath/engine.js';
import { NativeFastPath } from '../fastpath/native-fast-path.js';
import { type FastPathLink, PathConn, type PeerPathStatus } from '../paths/path-conn.js';
import { virtualEndpoint } from '../paths/peer-table.js';
import { type MappingMethod, methodsFromEnv } from '../portmap/mapping-methods.js';
import { BYPASS_MARK, LinuxRouting } from '../routing/linux-routing.js';
import { interfaceDeleted, openTun } from '../tun/linux-tun.js';
import type { TunDevice } from '../tun/tun.js';
import { monotonic, protocolLimits, wallTime } from './clock.js';
import { Datapath, type PacketGate } from './datapath.js';
import type { Log } from './log.js';
import { DEFAULT_ROUTES, type MeshPlan, syncDevice } from './peer-sync.js';

/** IPv6's minimum: the tunnel fits inside any path, other tunnels included, without fragmenting. */
const MTU = 1280;
/** How long after a peer returns to start a fresh handshake with it (see rehandshakeReturning). */
const REHANDSHAKE_DELAY_MS = 1000;
/** How many online peers get a handshake as soon as the tunnel has its first map (see greet). */
const GREETED_PEERS = 32;

/**
 * The tunnel's interface failed under a running mesh node: deleted (`ip link del burrow0`, which
 * makes the TUN read fail with EBADFD) or another read error. The node cannot carry traffic any
 * more; burrowd removes what it added and exits 1, and its service manager starts it again
 * (burrowd.service: Restart=always), which makes the interface anew.
 */
export class InterfaceGoneError extends Error {}

/**
 * The data plane of a mesh node: the TUN interface, the packet conn (the UDP socket and the relays,
 * with path discovery), the WireGuard core and the routing (table 52 and its rules). Opened when
 * the node goes up, closed when it goes down; in between the control side hands it plans (peers
 * and routes) to apply.
 */
export class Tunnel {
  readonly device: Device;
  private readonly routing: LinuxRouting;
  private tun: TunDevice | null = null;
  private conn: PathConn | null = null;
  private datapath: Datapath | null = null;
  private fastPath: NativeFastPath | null = null;
  private addresses: string[] | null = null;
  /** Each peer's online state in the last plan, to notice one coming back. */
  private readonly online = new Map<string, boolean>();

  constructor(
    private readonly name: string,
    private readonly keys: { node: Uint8Array; disco: Uint8Array },
    private readonly log: Log,
    /** Our endpoints or home relay changed: the control server must hear of them. */
    private readonly onSelfChange: () => void,
    /** How the relays' host names are looked up (see LastKnownAddresses). */
    private readonly lookup: LookupFunction,
    /** The interface is gone or unreadable while open: the node must stop (see InterfaceGoneError). */
    private readonly onGone: (error: InterfaceGoneError) => void,
  ) {
    const crypto = helperCrypto((why) => log.info(`native AEAD unavailable (${why}); using node:crypto`));
    this.device = new Device({
      crypto,
      privateKey: keys.node,
      random: randomBytes,
      roaming: false,
      limits: protocolLimits(),
      mtu: MTU,
      wallTime,
    });
    this.routing = new LinuxRouting(name);
  }

  /**
   * Opens the interface and the socket; the interface gets its addresses with the first plan.
   * What a killed burrowd left in the routing is removed before, once, at start (removeStaleRouting).
   */
  async open(port: number, gate: PacketGate): Promise<void> {
    const fast = fastPathEnabled();
    const tun = openTun(this.name, { vnet: fast });
    this.tun = tun;
    tun.onError((error) => {
      if (this.tun !== tun) return; // closed by us: not news
      const why = interfaceDeleted(error)
        ? `${this.name} was deleted`
        : `${this.name} cannot be read: ${error.message}`;
      this.log.error(`${why}: tearing down`);
      this.onGone(new InterfaceGoneError(why));
    });
    let engine: NativeFastEngine | null = null;
    try {
      const bind = await openBind(port, { fwmark: BYPASS_MARK });
      if (fast) {
        // Sessions made from now on are installed in it (older ones, from before a restart of
        // the tunnel, stay with the core until they are replaced).
        this.fastPath = new NativeFastPath({
          limits: this.device.limits,
          mtu: MTU,
          roaming: false,
          dualStack: bind.dualStack,
        });
        this.device.attachFastPath(this.fastPath);
        engine = new NativeFastEngine(this.fastPath, tun, bind);
      }
      this.conn = new PathConn({
        bind,
        tunName: this.name,
        node: { privateKey: this.keys.node, publicKey: this.device.publicKey },
        discoPrivateKey: this.keys.disco,
        crypto: this.device.crypto,
        random: randomBytes,
        clock: monotonic,
        onSelfChange: this.onSelfChange,
        lookup: this.lookup,
        log: (m) => this.log.info(m),
        ...(fast ? { fastPath: this.fastLink() } : {}),
        // The mapper's requests bypass our routes as the WireGuard socket's packets do.
        portMap: { ...portMapSettings(process.env), fwmark: BYPASS_MARK },
      });
    } catch (error) {
      this.device.detachFastPath();
      this.fastPath = null;
      this.tun.close();
      this.tun = null;
      throw error;
    }
    this.datapath = new Datapath(this.device, this.tun, this.conn, monotonic, gate, engine);
    this.datapath.start();
  }

  /** What the path conn and the fast path tell each other, by node key. */
  private fastLink(): FastPathLink {
    const peerOf = (nodeKey: string) => this.device.getPeer(decodeKey(nodeKey));
    return {
      direct: (nodeKey, endpoint, until) => {
        const peer = peerOf(nodeKey);
        if (peer !== undefined) this.fastPath?.setDirect(peer, endpoint, until);
      },
      lastActive: (nodeKey) => {
        const at = peerOf(nodeKey)?.timers.state[PeerField.lastActive] ?? 0;
        return at > 0 ? at : Number.NEGATIVE_INFINITY;
      },
    };
  }

  get port(): number {
    return this.conn?.port ?? 0;
  }

  /** Where peers can reach this device: its addresses outside the tunnel and its NAT-mapped one. */
  endpoints(): string[] {
    return this.conn?.endpoints() ?? [];
  }

  /** The relay region peers reach us through, null before one answered. */
  homeRelay(): number | null {
    return this.conn?.homeRelay() ?? null;
  }

  /** What the fast path carried, while the tunnel is up with one (`burrow status --json`). */
  fastPathStatus(): { sent: number; tunWrites: number; judged: number } | null {
    if (this.fastPath === null || this.datapath === null) return null;
    const s = this.fastPath.stats();
    return { sent: s.txDatagrams, tunWrites: s.tunWrites, judged: s.judged };
  }

  /** The gateway's mapping of our port, and its answers refused (Status.portMapping). */
  portMappingStatus(): NonNullable<Status['portMapping']> {
    const mapper = this.conn?.portMapper;
    const m = mapper?.mapping() ?? null;
    return {
      mapping: m && { method: m.method, endpoint: m.endpoint, lifetimeSeconds: m.lifetime },
      refused: [...(mapper?.refusals ?? [])].map(([reason, count]) => ({ reason, count })),
    };
  }

  /** How packets to the peer travel now. */
  pathOf(nodeKey: string): PeerPathStatus | null {
    return this.conn?.status(nodeKey) ?? null;
  }

  /** Applies a plan: the device's own addresses, its peers, table 52 and the relay map. */
  async apply(
    selfIps: string[],
    plan: MeshPlan,
    throws: string[],
    relays: readonly RelayRegion[],
  ): Promise<void> {
    const addresses = selfIps.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`));
    this.conn?.setRegions(relays);
    this.conn?.setPeers(
      plan.peers.map(({ node }) => ({
        nodeKey: node.nodeKey,
        discoKey: node.discoKey,
        endpoints: node.endpoints,
        homeRelay: node.homeRelay ?? null,
      })),
    );
    // The peers are in place before their routes: the first packets the routes bring find them.
    syncDevice(this.device, plan, (node) => virtualEndpoint(node.nodeKey));
    // New device peers get their direct paths, which the conn knew before they existed.
    this.conn?.retellFastPath();
    // Before the routing step, which takes a few ms: the handshakes are under way meanwhile.
    if (this.addresses === null) this.greet(plan);
    if (this.addresses === null || addresses.join() !== this.addresses.join()) {
      // New addresses (the first map, or a re-registration): the interface is set up again, its
      // routes with it.
      if (this.addresses !== null) await this.routing.down();
      this.addresses = null;
      await this.routing.up({ name: this.name, mtu: MTU, addresses }, plan.routes, throws);
      this.addresses = addresses;
    } else {
      await this.routing.setRoutes(plan.routes, throws);
    }
    this.rehandshakeReturning(plan);
  }

  /**
   * A peer that comes back online may have restarted and lost our session: without a nudge, our
   * side would keep sending on the dead session until WireGuard's timers give up on it (about 15 s).
   * A fresh handshake costs one round trip. It waits a moment, because the server reports the peer
   * online as soon as it asks for its map, a little before it has taken us on as a peer.
   */
  private rehandshakeReturning(plan: MeshPlan): void {
    const returning: Uint8Array[] = [];
    for (const { node } of plan.peers) {
      const wasOnline = this.online.get(node.nodeKey);
      this.online.set(node.nodeKey, node.online);
      if (wasOnline === false && node.online) {
        returning.push(decodeKey(node.nodeKey));
        this.conn?.peerReturned(node.nodeKey);
      }
    }
    if (returning.length === 0) return;
    setTimeout(() => {
      for (const key of returning) {
        const peer = this.device.getPeer(key);
        if (peer?.current) this.datapath?.apply(this.device.initiate(peer, monotonic(), true));
      }
    }, REHANDSHAKE_DELAY_MS).unref();
  }

  /**
   * Starts the handshake with the peers that are online as soon as the tunnel has its first map,
   * without waiting for a packet to them: the user's first packet then finds a session instead of
   * waiting a round trip (through a relay, a long one) for it. The exit node first, then the others
   * in the map's order, up to GREETED_PEERS: each costs both sides a handshake, which a big map
   * should not spend all at once. The rest start theirs with their first packet, as before.
   */
  private greet(plan: MeshPlan): void {
    const isExit = (p: MeshPlan['peers'][number]) =>
      p.allowedIps.some((ip) => (DEFAULT_ROUTES as readonly string[]).includes(ip));
    const online = plan.peers.filter(({ node }) => node.online);
    online.sort((a, b) => Number(isExit(b)) - Number(isExit(a)));
    const now = monotonic();
    const actions: Action[] = [];
    for (const { node } of online.slice(0, GREETED_PEERS)) {
      const peer = this.device.getPeer(decodeKey(node.nodeKey));
      if (peer !== undefined) actions.push(...this.device.initiate(peer, now));
    }
    this.datapath?.apply(actions);
  }

  /** Sends a packet into the tunnel as if the kernel had (burrowd's own ping). */
  inject(packet: Uint8Array): void {
    this.datapath?.apply(this.device.send(packet, monotonic()));
  }

  /** Starts a handshake with `peer` now, even if one went out recently (`burrow trace` times it). */
  handshake(peer: Peer): void {
    this.datapath?.apply(this.device.initiate(peer, monotonic(), true));
  }

  /** The peer whose allowed IPs hold `addr` (4 or 16 bytes): where WireGuard would send a packet to it. */
  peerFor(addr: Uint8Array): Peer | undefined {
    return this.device.allowedIps.lookup(addr, 0, addr.length === 4 ? 4 : 16);
  }

  peerByKey(publicKey: Uint8Array): Peer | undefined {
    return this.device.getPeer(publicKey);
  }

  async close(): Promise<void> {
    this.datapath?.stop();
    this.device.detachFastPath();
    this.fastPath = null;
    await this.routing.down().catch((e) => this.log.error(`routing down: ${(e as Error).message}`));
    await this.conn?.unmapPort();
    this.conn?.close();
    this.tun?.close();
    this.datapath = null;
    this.conn = null;
    this.tun = null;
    this.addresses = null;
  }
}

/**
 * Port mapping as the environment sets it: `BURROW_PORTMAP` (pcp,nat-pmp,upnp in any subset, or
 * off; default all) and `BURROW_PORTMAP_LIFETIME` (seconds asked for; default 7200, the lab's
 * tests ask for less to see renewals and expiry).
 */
function portMapSettings(env: NodeJS.ProcessEnv): { methods: MappingMethod[]; lifetime?: number } {
  const lifetime = Number(env.BURROW_PORTMAP_LIFETIME);
  return {
    methods: methodsFromEnv(env.BURROW_PORTMAP),
    ...(Number.isInteger(lifetime) && lifetime > 0 ? { lifetime } : {}),
  };
}
