import type { LookupFunction } from 'node:net';
import type { RelayRegion } from '../../src/control/messages.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import { DISCO_MAGIC, DiscoBox, isDiscoPacket } from '../../src/disco/box.js';
import type { DiscoMessage } from '../../src/disco/message.js';
import type { PathFound } from '../../src/localapi/api.js';
import type { PathAction, PathStatus, Via } from '../../src/paths/peer-path.js';
import { isStunPacket } from '../../src/stun/detect.js';
import type { Endpoint } from '../../src/wireguard/actions.js';
import { decodeKey, encodeKey } from '../../src/wireguard/keys.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import type { Datagram, Origin, UdpBind } from '../bind/bind.js';
import type { MappingMethod } from '../portmap/mapping-methods.js';
import { PortMapper } from '../portmap/port-mapper.js';
import { RelaySet } from '../relay/relay-set.js';
import { EndpointFinder, parseEndpoint } from './endpoint-finder.js';
import { addressKey, type PathPeer, type PeerEntry, PeerTable, VIRTUAL } from './peer-table.js';

export interface PathConnOptions {
  bind: UdpBind;
  tunName: string;
  node: StaticKeyPair;
  discoPrivateKey: Uint8Array;
  crypto: CryptoProvider;
  random: (n: number) => Uint8Array;
  clock: () => number;
  /** Our endpoints or home relay changed: the control server must be told. */
  onSelfChange(): void;
  /** How the relays' host names are looked up; by default, DNS. */
  lookup?: LookupFunction;
  log(message: string): void;
  /**
   * A fast path that sends to peers on trusted direct paths itself (helper/fastpath): it is told
   * each peer's direct address and how long it is trusted, and says when it last carried the
   * peer's packets, which keeps the path active (heartbeats) as packets through here would.
   */
  fastPath?: FastPathLink;
  /** Port mapping at the gateway: the methods to try, best first (none: no mapping), and seconds asked. */
  portMap?: { methods: readonly MappingMethod[]; lifetime?: number; fwmark?: number };
}

export interface FastPathLink {
  direct(nodeKey: string, endpoint: Endpoint | null, until: number): void;
  lastActive(nodeKey: string): number;
}

export interface PeerPathStatus extends PathStatus {
  /** The relay region that carries the peer's packets when they are relayed. */
  relay: string | null;
  /** How the direct address in use was found (null unless direct). */
  found: PathFound | null;
}

/** Packets relayed from a node key that is not (yet) a peer: answers go back through the relay. */
const RELAYED = 'relay:';

/**
 * The mesh node's packet conn, in the place of the UDP socket under the WireGuard datapath (like
 * Tailscale's magicsock): WireGuard sends to a peer's virtual endpoint, and the conn sends the
 * datagram directly over UDP, through the relay, or both, as the peer's PeerPath decides from disco
 * pings. It also takes the STUN answers and disco messages out of the socket's stream.
 */
export class PathConn implements UdpBind {
  private readonly bind: UdpBind;
  private readonly disco: DiscoBox;
  readonly relays: RelaySet;
  readonly endpointFinder: EndpointFinder;
  /** Asks the gateway to map our UDP port (PCP, NAT-PMP, UPnP); its endpoint is a candidate. */
  readonly portMapper: PortMapper;
  private readonly peers: PeerTable;
  private deliver: (datagrams: Datagram[]) => void = () => {};
  private readonly timer: ReturnType<typeof setInterval>;
  /** Whether an address is on our own link, for `mayGuess`; forgotten every tick. */
  private readonly near = new Map<string, boolean>();
  /** Disco messages refused, by reason; WireGuard's own refusals are counted by the core. */
  readonly refused: Record<string, number> = {};

  constructor(private readonly options: PathConnOptions) {
    this.bind = options.bind;
    this.peers = new PeerTable(options.random);
    this.disco = new DiscoBox(options.crypto, options.discoPrivateKey, options.random);
    this.relays = new RelaySet({
      node: options.node,
      crypto: options.crypto,
      random: options.random,
      onPacket: (src, packets, region) => this.fromRelay(src, packets, { relay: region.name }),
      onHomeChange: () => options.onSelfChange(),
      log: options.log,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    this.endpointFinder = new EndpointFinder({
      tunName: options.tunName,
      port: () => this.bind.port,
      send: (data, host, port) => this.bind.send([{ data, host, port }]),
      onChange: () => {
        options.onSelfChange();
        this.endpointsChanged();
      },
      log: options.log,
    });
    this.portMapper = new PortMapper({
      internalPort: () => this.bind.port,
      onChange: () => this.endpointFinder.setPortMapped(this.portMapper.mapping()?.endpoint ?? null),
      log: options.log,
      methods: options.portMap?.methods ?? [],
      ...(options.portMap?.lifetime !== undefined ? { lifetime: options.portMap.lifetime } : {}),
      ...(options.portMap?.fwmark !== undefined ? { fwmark: options.portMap.fwmark } : {}),
    });
    this.portMapper.start();
    this.bind.onDatagrams((datagrams) => this.fromUdp(datagrams));
    this.timer = setInterval(() => this.tick(), 500);
    this.timer.unref();
  }

  get port(): number {
    return this.bind.port;
  }

  onDatagrams(callback: (datagrams: Datagram[]) => void): void {
    this.deliver = callback;
  }

  /** The relay map changed. */
  setRegions(regions: readonly RelayRegion[]): void {
    this.relays.setRegions(regions);
    this.endpointFinder.setRegions(regions);
  }

  /** Makes the conn's peers those of the netmap; returns nothing, see `virtualEndpoint`. */
  setPeers(peers: readonly PathPeer[]): void {
    for (const e of this.peers.set(peers)) {
      e.path.setReported(e.peer.endpoints.map(parseEndpoint));
      this.tellFast(e, this.options.clock());
    }
  }

  /** The peer came back online: its paths must be found again (see PeerPath.forgetTrust). */
  peerReturned(nodeKey: string): void {
    const e = this.peers.byNode(nodeKey);
    if (e === undefined) return;
    e.path.forgetTrust();
    this.tellFast(e, this.options.clock());
  }

  /** The peer's path as `burrow status` shows it. */
  status(nodeKey: string): PeerPathStatus | null {
    const e = this.peers.byNode(nodeKey);
    if (e === undefined) return null;
    const region = this.regionOf(e);
    const s = e.path.status(this.options.clock(), this.relays.connected(region?.id ?? null));
    return { ...s, relay: s.path === 'relay' ? (region?.name ?? null) : null, found: this.found(s) };
  }

  /**
   * A path from a peer's ping is peer-reflexive; one the peer told us of is a port mapping when its
   * call-me-maybe said so, else LAN when the address is on our own subnets, else the peer's
   * STUN-mapped (or otherwise public) endpoint.
   */
  private found(s: PathStatus): PathFound | null {
    if (s.path !== 'direct' || s.endpoint === null) return null;
    if (s.source === 'pinged') return 'peer-reflexive';
    if (s.kind === 'port-mapping') return 'port-mapping';
    return this.endpointFinder.onLink(s.endpoint.host) ? 'lan' : 'stun';
  }

  /** Our endpoints for the control server. */
  endpoints(): string[] {
    return this.endpointFinder.endpoints();
  }

  homeRelay(): number | null {
    return this.relays.home?.id ?? null;
  }

  send(datagrams: Datagram[]): void {
    const now = this.options.clock();
    const udp: Datagram[] = [];
    for (const d of datagrams) {
      if (d.host.startsWith(VIRTUAL)) {
        const e = this.peers.byVirtualHost(d.host);
        if (e === undefined) continue;
        const out: PathAction[] = [];
        const route = e.path.route(now, out);
        // A discovery round this packet starts goes out ahead of it: its opening pings, then its
        // call-me-maybe as the first relayed packet, so the peer is pinging us before it has even
        // handled the packet (which for WireGuard's handshake takes it a while).
        for (const a of out) this.perform(e, a);
        const region = e.peer.homeRelay;
        if (route.relay) this.relays.send(region, e.nodeKey, d.data);
        if (route.udp !== null && (!route.relay || this.mayGuess(e, route.udp)))
          udp.push({ data: d.data, host: route.udp.host, port: route.udp.port });
      } else if (d.host.startsWith(RELAYED)) {
        this.relays.send(null, decodeKey(d.host.slice(RELAYED.length)), d.data);
      } else udp.push(d);
    }
    if (udp.length > 0) this.bind.send(udp);
  }

  /**
   * Whether an untrusted packet may also go straight to `to`: only where it cannot reach the
   * peer's router before the peer's own packets have left it (see OPEN_TTL): an address that
   * answered us before, or one on our own link. Looked up once per address and tick.
   */
  private mayGuess(e: PeerEntry, to: Endpoint): boolean {
    if (e.path.answered(to)) return true;
    let near = this.near.get(to.host);
    if (near === undefined) {
      near = this.endpointFinder.onLink(to.host);
      this.near.set(to.host, near);
    }
    return near;
  }

  /** Removes the gateway's port mapping (before `close`, on `burrow down` and on exit). */
  async unmapPort(): Promise<void> {
    await this.portMapper.close();
  }

  close(): void {
    clearInterval(this.timer);
    void this.portMapper.close();
    this.relays.close();
    this.endpointFinder.close();
    this.bind.close();
  }

  private fromUdp(datagrams: Datagram[]): void {
    const wireguard: Datagram[] = [];
    const now = this.options.clock();
    for (const d of datagrams) {
      if (isDiscoPacket(d.data)) this.onDisco(d.data, { host: d.host, port: d.port });
      else if (isStunPacket(d.data)) this.endpointFinder.stun.receive(d.data);
      else {
        const e = this.peers.byAddressOf(d);
        if (e === undefined) {
          wireguard.push(d);
          continue;
        }
        e.path.heard(now);
        wireguard.push({ data: d.data, host: e.virtual.host, port: e.virtual.port, origin: d });
      }
    }
    if (wireguard.length > 0) this.deliver(wireguard);
  }

  /** Packets relayed from `src`: those of one relay frame go to WireGuard as one batch. */
  private fromRelay(src: Uint8Array, packets: Uint8Array[], origin: Origin): void {
    const e = this.peers.byNode(encodeKey(src));
    const host = e === undefined ? RELAYED + encodeKey(src) : e.virtual.host;
    const port = e === undefined ? 0 : e.virtual.port;
    const wireguard: Datagram[] = [];
    for (const packet of packets) {
      if (isDiscoPacket(packet)) this.onDisco(packet, 'relay', src);
      else wireguard.push({ data: packet, host, port, origin });
    }
    if (wireguard.length === 0) return;
    e?.path.heard(this.options.clock());
    this.deliver(wireguard);
  }

  private onDisco(packet: Uint8Array, via: Via, relaySrc?: Uint8Array): void {
    // Only peers' disco keys are worth an X25519: a stranger's packet is dropped unopened.
    const e = this.peers.byDiscoKey(encodeKey(packet.subarray(DISCO_MAGIC.length, DISCO_MAGIC.length + 32)));
    if (e === undefined) {
      this.refuse('unknown-sender');
      return;
    }
    const opened = this.disco.open(packet);
    if (!opened.ok) {
      this.refuse(opened.reason);
      return;
    }
    // Through the relay, the relay vouches for the node key: it must be the disco key's peer's.
    if (relaySrc !== undefined && encodeKey(relaySrc) !== e.peer.nodeKey) {
      this.refuse('relay-key-mismatch');
      return;
    }
    const now = this.options.clock();
    const out: PathAction[] = [];
    const m: DiscoMessage = opened.message;
    switch (m.type) {
      case 'ping': {
        if (encodeKey(m.nodeKey) !== e.peer.nodeKey) {
          this.refuse('node-key-mismatch');
          return;
        }
        const src = via === 'relay' ? null : via;
        this.sendDisco(e, via, { type: 'pong', txid: m.txid, src });
        if (via !== 'relay') {
          this.peers.heardAt(via, e);
          e.path.pingedFrom(via, now, out);
        }
        break;
      }
      case 'pong':
        if (e.path.pong(m.txid, via, now, out) && via !== 'relay') this.peers.heardAt(via, e);
        this.noteChange(e, now);
        this.tellFast(e, now);
        break;
      case 'call-me-maybe':
        if (via !== 'relay') {
          this.refuse('call-me-maybe-not-relayed');
          return;
        }
        e.path.callMeMaybe(m.endpoints, now, out);
        break;
    }
    for (const a of out) this.perform(e, a);
  }

  private tick(): void {
    const now = this.options.clock();
    this.near.clear();
    for (const e of this.peers.entries()) {
      const fast = this.options.fastPath;
      if (fast !== undefined) e.path.heard(fast.lastActive(e.peer.nodeKey));
      const out: PathAction[] = [];
      e.path.tick(now, out);
      for (const a of out) this.perform(e, a);
      this.noteChange(e, now);
    }
  }

  /** Tells the peers in use our new endpoints (see PeerPath.endpointsChanged). */
  private endpointsChanged(): void {
    const now = this.options.clock();
    for (const e of this.peers.entries()) {
      const out: PathAction[] = [];
      e.path.endpointsChanged(now, out);
      for (const a of out) this.perform(e, a);
    }
  }

  /** Tells the fast path every peer's direct path again (its peers may have been made anew). */
  retellFastPath(): void {
    const now = this.options.clock();
    for (const e of this.peers.entries()) {
      e.toldFast = '-';
      this.tellFast(e, now);
    }
  }

  /** Tells the fast path the peer's direct path when it changed (its expiry it watches itself). */
  private tellFast(e: PeerEntry, now: number): void {
    const fast = this.options.fastPath;
    if (fast === undefined) return;
    const trusted = e.path.trusted(now);
    const told = trusted === null ? '' : `${addressKey(trusted.endpoint)}|${trusted.until}`;
    if (told === e.toldFast) return;
    e.toldFast = told;
    fast.direct(e.peer.nodeKey, trusted?.endpoint ?? null, trusted?.until ?? Number.NEGATIVE_INFINITY);
  }

  /** Logs a path turning direct or falling back to the relay: what a user debugging reach wants. */
  private noteChange(e: PeerEntry, now: number): void {
    const direct = e.path.isDirect(now);
    if (direct === e.direct) return;
    e.direct = direct;
    const name = e.peer.nodeKey.slice(0, 8);
    if (direct) {
      const s = e.path.status(now, true);
      const first = e.everDirect ? null : e.path.timeToDirect;
      e.everDirect = true;
      const after = first === null ? '' : ` (${Math.round(first)} ms after the first packet)`;
      this.options.log(`paths: ${name} direct via ${s.endpoint!.host}:${s.endpoint!.port}${after}`);
    } else this.options.log(`paths: ${name} stopped answering directly; back to the relay`);
  }

  private perform(e: PeerEntry, a: PathAction): void {
    if (a.kind === 'ping') {
      const ping: DiscoMessage = { type: 'ping', txid: a.txid, nodeKey: this.options.node.publicKey };
      this.sendDisco(e, a.via, ping, a.ttl);
    } else {
      const endpoints = this.endpointFinder
        .candidates()
        .slice(0, 32)
        .map((c) => ({ ...parseEndpoint(c.endpoint), kind: c.kind }));
      this.sendDisco(e, 'relay', { type: 'call-me-maybe', endpoints });
    }
  }

  private sendDisco(e: PeerEntry, via: Via, message: DiscoMessage, ttl?: number): void {
    const sealed = this.disco.seal(e.discoKey, message);
    if (via === 'relay') this.relays.send(e.peer.homeRelay, e.nodeKey, sealed);
    else
      this.bind.send([
        { data: sealed, host: via.host, port: via.port, ...(ttl !== undefined ? { ttl } : {}) },
      ]);
  }

  private regionOf(e: PeerEntry): RelayRegion | null {
    const id = this.relays.via(e.peer.homeRelay);
    return (id !== null ? this.relays.region(id) : undefined) ?? this.relays.home;
  }

  private refuse(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
  }
}
