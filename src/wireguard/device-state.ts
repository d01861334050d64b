import type { CryptoProvider } from '../crypto/types.js';
import type { Endpoint } from './actions.js';
import { AllowedIps } from './allowed-ips.js';
import { DEFAULT_LIMITS, type ProtocolLimits } from './constants.js';
import { type DropCounters, type DropReason, newDropCounters } from './drops.js';
import type { FastPath, FastRoute } from './fast-path.js';
import { wireguardStart } from './handshake.js';
import { Keypair } from './keypair.js';
import { clampPrivateKey } from './keys.js';
import { LoadGuard } from './load-guard.js';
import { readU32 } from './messages.js';
import type { StaticKeyPair, SymmetricState } from './noise.js';
import { Peer, type PeerConfig } from './peer.js';
import { SessionTable } from './sessions.js';

export interface DeviceOptions {
  crypto: CryptoProvider;
  privateKey: Uint8Array;
  /** Cryptographically secure random bytes. */
  random: (n: number) => Uint8Array;
  limits?: ProtocolLimits;
  /** Tunnel MTU; transport payloads are padded to a multiple of 16 but never beyond it. */
  mtu?: number;
  /** Converts the monotonic `now` the driver passes into Unix wall-clock ms, for TAI64N timestamps. */
  wallTime?: (now: number) => number;
  /** Handshake messages per second above which the device counts as under load and asks for cookies. */
  underLoadThreshold?: number;
  /** Handshake messages with a valid mac1 processed per second at most (the rest are dropped). */
  handshakesPerSecond?: number;
  /**
   * Whether a peer's endpoint follows the source of its latest authenticated packet (WireGuard's
   * roaming; default true). A driver that chooses paths itself (burrowd's mesh conn) turns it off:
   * an endpoint it set then stays, and it alone decides where packets go.
   */
  roaming?: boolean;
}

/**
 * What the WireGuard protocol core (device.ts) works on: the interface's keys, its peers, their
 * sessions and allowed IPs, the fast path they are installed in, and the bookkeeping the protocol
 * shares. Device adds the protocol itself; nothing here does I/O either.
 */
export abstract class DeviceState {
  readonly crypto: CryptoProvider;
  readonly limits: ProtocolLimits;
  readonly mtu: number;
  readonly allowedIps = new AllowedIps<Peer>();
  readonly drops: DropCounters = newDropCounters();
  protected local: StaticKeyPair;
  protected readonly guard: LoadGuard;
  protected readonly start: SymmetricState;
  protected readonly peersByKey = new Map<string, Peer>();
  protected readonly sessions: SessionTable;
  private readonly random: (n: number) => Uint8Array;
  protected readonly wallTime: (now: number) => number;
  private readonly roaming: boolean;
  /** A lower bound on the earliest timer deadline of any peer. */
  protected wake = Number.POSITIVE_INFINITY;
  protected fastPath: FastPath | null = null;

  constructor(options: DeviceOptions) {
    this.crypto = options.crypto;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.mtu = options.mtu ?? 1420;
    this.random = options.random;
    this.wallTime = options.wallTime ?? ((now) => now);
    this.roaming = options.roaming ?? true;
    this.start = wireguardStart(this.crypto);
    this.sessions = new SessionTable(this.random, this.limits.rekeyTimeout, {
      wake: (at) => this.wakeBy(at),
      changed: (peer) => this.fastPath?.setSessions(peer),
      retired: (kp) => this.fastPath?.removeKeypair(kp),
    });
    this.local = this.keyPairOf(options.privateKey);
    this.guard = new LoadGuard(
      this.crypto,
      this.local.publicKey,
      this.random,
      this.limits.cookieRefreshTime,
      options.underLoadThreshold ?? 128,
      options.handshakesPerSecond ?? 5000,
    );
  }

  get publicKey(): Uint8Array {
    return this.local.publicKey;
  }

  /** A copy of the interface's private key (the UAPI's `get` reports it to root, as wireguard-go does). */
  get privateKey(): Uint8Array {
    return this.local.privateKey.slice();
  }

  /**
   * Hands transport messages to `fastPath` from now on (fast-path.ts). Sessions created before stay
   * with the core: the fast path gets none without its keys.
   */
  attachFastPath(fastPath: FastPath): void {
    if (this.fastPath !== null) throw new Error('a fast path is already attached');
    this.fastPath = fastPath;
    for (const peer of this.peersByKey.values()) this.installPeer(peer);
    const routes = () => this.routes();
    this.allowedIps.onChange = () => fastPath.setRoutes(routes);
    fastPath.setRoutes(routes);
  }

  /** Takes every transport message back; the shared state stays where it is, in use by the core. */
  detachFastPath(): void {
    const fastPath = this.fastPath;
    if (fastPath === null) return;
    this.syncFastPath();
    this.fastPath = null;
    this.allowedIps.onChange = null;
    for (const peer of this.peersByKey.values()) {
      peer.fastPath = null;
      fastPath.removePeer(peer);
    }
  }

  /** Collects what the fast path counted and scheduled: call after it handled packets on its own. */
  syncFastPath(): void {
    if (this.fastPath === null) return;
    this.fastPath.takeDrops(this.drops);
    this.wakeBy(this.fastPath.takeWake());
  }

  private installPeer(peer: Peer): void {
    const fastPath = this.fastPath!;
    const state = fastPath.addPeer(peer);
    state.set(peer.timers.state);
    peer.timers.state = state;
    peer.fastPath = fastPath;
    fastPath.setEndpoint(peer);
    fastPath.setSessions(peer);
  }

  private routes(): FastRoute[] {
    const routes: FastRoute[] = [];
    for (const peer of this.allowedIps.values()) {
      for (const { addr, cidr } of this.allowedIps.entriesOf(peer)) routes.push({ addr, cidr, peer });
    }
    return routes;
  }

  /**
   * Replaces the interface's private key: every session and handshake ends, as in wireguard-go. An
   * all-zero key means none (what `wg setconf` sends for a file without PrivateKey): until a real
   * one is set, no handshake is made or answered.
   */
  setPrivateKey(privateKey: Uint8Array): void {
    this.local = this.keyPairOf(privateKey);
    this.guard.setLocalPublicKey(this.local.publicKey);
    for (const peer of this.peersByKey.values()) {
      this.sessions.clear(peer);
      peer.staticStatic = this.staticStatic(peer.publicKey);
    }
  }

  /** False while the private key is all zero (none). */
  get hasPrivateKey(): boolean {
    return this.local.privateKey.some((b) => b !== 0);
  }

  /**
   * The static-static secret with `publicKey`, or null when there is none: without a private key, or
   * for a low-order key. A peer whose secret is null takes part in no handshake.
   */
  private staticStatic(publicKey: Uint8Array): Uint8Array | null {
    return this.hasPrivateKey ? this.crypto.x25519(this.local.privateKey, publicKey) : null;
  }

  addPeer(config: PeerConfig): Peer {
    const id = keyId(config.publicKey);
    if (this.peersByKey.has(id)) throw new Error('a peer with this public key already exists');
    const ss = this.staticStatic(config.publicKey);
    const peer = new Peer(
      this.crypto,
      config,
      ss,
      this.limits,
      () => this.randomUnit(),
      (at) => this.wakeBy(at),
    );
    this.peersByKey.set(id, peer);
    if (this.fastPath !== null) this.installPeer(peer);
    return peer;
  }

  removePeer(peer: Peer): void {
    this.sessions.clear(peer);
    peer.timers.stopAll();
    this.allowedIps.removeValue(peer);
    this.peersByKey.delete(keyId(peer.publicKey));
    if (peer.fastPath !== null) {
      peer.fastPath.removePeer(peer);
      peer.fastPath = null;
    }
  }

  getPeer(publicKey: Uint8Array): Peer | undefined {
    return this.peersByKey.get(keyId(publicKey));
  }

  peers(): IterableIterator<Peer> {
    return this.peersByKey.values();
  }

  /** Changes how often keepalives go to `peer` (seconds, 0 for off). */
  setPersistentKeepalive(peer: Peer, seconds: number, now: number): void {
    peer.timers.persistentKeepaliveInterval = seconds * 1000;
    peer.timers.persistentKeepalive = Number.POSITIVE_INFINITY;
    peer.timers.anyAuthenticatedPacketTraversal(now);
  }

  /** The time at which `tick` has work to do next (Infinity if none). Waking earlier is harmless. */
  get nextWake(): number {
    return this.wake;
  }

  // --- bookkeeping ---

  /** A session, installed in the fast path if there is one; the transport keys are zeroed after. */
  protected newKeypair(
    peer: Peer,
    keys: { send: Uint8Array; recv: Uint8Array },
    localIndex: number,
    remoteIndex: number,
    isInitiator: boolean,
    now: number,
  ): Keypair {
    const kp = new Keypair(this.crypto, keys, localIndex, remoteIndex, isInitiator, now);
    if (this.fastPath !== null) {
      const fast = this.fastPath.addKeypair(peer, kp, keys);
      kp.state = fast.state;
      kp.replay = fast.replay;
    }
    keys.send.fill(0);
    keys.recv.fill(0);
    return kp;
  }

  private wakeBy(at: number): void {
    if (at < this.wake) this.wake = at;
  }

  /** The endpoint follows the source of the latest authenticated packet (a copy: `from` may be a
   * driver's per-datagram object that holds the packet buffer). */
  protected roam(peer: Peer, from: Endpoint): void {
    const current = peer.endpoint;
    if (current !== null && !this.roaming) return;
    if (current === null || current.host !== from.host || current.port !== from.port) {
      peer.endpoint = { host: from.host, port: from.port };
    }
  }

  protected drop(reason: DropReason): void {
    this.drops[reason]++;
  }

  protected newEphemeral(): StaticKeyPair {
    return this.keyPairOf(clampPrivateKey(this.random(32)));
  }

  private keyPairOf(privateKey: Uint8Array): StaticKeyPair {
    const key = privateKey.slice();
    return { privateKey: key, publicKey: this.crypto.x25519PublicKey(key) };
  }

  private randomUnit(): number {
    return readU32(this.random(4), 0) / 0x1_0000_0000;
  }
}

/** A public key as a map key. */
export function keyId(key: Uint8Array): string {
  let s = '';
  for (const b of key) s += b.toString(16).padStart(2, '0');
  return s;
}
