import { performance } from 'node:perf_hooks';
import type { Endpoint } from '../../src/wireguard/actions.js';
import type { ProtocolLimits } from '../../src/wireguard/constants.js';
import type { DropReason } from '../../src/wireguard/drops.js';
import {
  FAST_PATH_LAYOUT,
  type FastKeypair,
  type FastPath,
  type FastReceive,
  type FastRoute,
  type FastSend,
} from '../../src/wireguard/fast-path.js';
import type { Keypair } from '../../src/wireguard/keypair.js';
import type { Peer } from '../../src/wireguard/peer.js';
import type { LinuxBind } from '../bind/linux-bind.js';
import { type NativeFastPathStats, type NativeHandle, native } from '../native/index.js';
import type { LinuxTun } from '../tun/linux-tun.js';

// The core's shared fields and results (helper/native/fp-core.h).
const WAKE = 0;
const ARMED = 1;
const LAST_PEER = 2;
const LAST_REKEY = 3;
const DROPS = 4;
const PUNT = -1;
const DONE = -2;
/** FP_DROP_* in order. */
const DROP_REASONS: readonly DropReason[] = [
  'no-route',
  'decrypt-failed',
  'replayed',
  'bad-inner-packet',
  'disallowed-source',
];

const PUNTED: FastSend & FastReceive = Object.freeze({ kind: 'punt' });
const DROPPED: FastSend = Object.freeze({ kind: 'dropped' });
const HANDLED: FastReceive = Object.freeze({ kind: 'done' });

export interface NativeFastPathOptions {
  limits: ProtocolLimits;
  mtu: number;
  /** As the device's: whether a peer's endpoint follows its packets. */
  roaming: boolean;
  /** The UDP socket it will be attached to is dual-stack (AF_INET6); false: IPv4 only. */
  dualStack?: boolean;
}

/** What the engine hands to the datapath (see NativeFastPath.attach). */
export interface EngineHandlers {
  /** Peers whose sessions want a handshake; called with none when a deadline was set before `armed`. */
  rekey(peers: Peer[]): void;
  /** With a filter: a packet of each outbound TCP/UDP flow sent since the last call (and every other packet). */
  flows(packets: Uint8Array[]): void;
  /** With a filter: inbound packets it must judge, with their peer and where their datagram came from. */
  judge(packets: { packet: Uint8Array; peer: Peer; origin: Endpoint }[]): void;
}

export interface EngineOptions {
  /** UDP GSO on send (default on; BURROW_UDP_GSO=0 turns it off). */
  gso?: boolean;
  /** UDP GRO on receive (default on; BURROW_UDP_GRO=0 turns it off). */
  gro?: boolean;
}

/**
 * burrowd's transport fast path (helper/native/fp-*.c) behind the core's FastPath interface. It
 * serves the core's own calls packet by packet, and, attached to a TUN device and a UDP socket,
 * carries the established sessions' traffic in C without calling into JS.
 */
export class NativeFastPath implements FastPath {
  readonly #handle: NativeHandle;
  /** The core's shared fields (fp-core.h). */
  readonly #shared: Float64Array;
  readonly #peers = new Map<Peer, { handle: NativeHandle; slot: number }>();
  readonly #bySlot: (Peer | undefined)[] = [];
  readonly #keypairs = new WeakMap<Keypair, NativeHandle>();
  #routes: (() => readonly FastRoute[]) | null = null;
  #attached = false;

  constructor(options: NativeFastPathOptions) {
    const { limits } = options;
    const created = native().fpCreate(
      Float64Array.of(
        limits.rekeyAfterMessages,
        limits.rejectAfterMessages,
        limits.rekeyAfterTime,
        limits.rejectAfterTime,
        limits.rekeyTimeout,
        limits.keepaliveTimeout,
      ),
      options.mtu,
      options.roaming,
      options.dualStack ?? true,
      FAST_PATH_LAYOUT,
    );
    this.#handle = created.handle;
    this.#shared = created.shared;
  }

  addPeer(peer: Peer): Float64Array {
    const added = native().fpPeerAdd(this.#handle);
    this.#peers.set(peer, { handle: added.handle, slot: added.slot });
    this.#bySlot[added.slot] = peer;
    return added.shared;
  }

  removePeer(peer: Peer): void {
    const entry = this.#peers.get(peer);
    if (entry === undefined) return;
    native().fpPeerRemove(this.#handle, entry.handle);
    this.#peers.delete(peer);
    this.#bySlot[entry.slot] = undefined;
  }

  setEndpoint(peer: Peer): void {
    const entry = this.#peers.get(peer);
    if (entry === undefined) return;
    native().fpPeerEndpoint(
      this.#handle,
      entry.handle,
      peer.endpoint?.host ?? null,
      peer.endpoint?.port ?? 0,
    );
  }

  /** A mesh peer's direct path and how long it is trusted; null: none (its driver sends, by relay). */
  setDirect(peer: Peer, endpoint: Endpoint | null, until: number): void {
    const entry = this.#peers.get(peer);
    if (entry === undefined) return;
    native().fpPeerDirect(this.#handle, entry.handle, endpoint?.host ?? null, endpoint?.port ?? 0, until);
  }

  /** Whether a packet filter judges inbound packets: the engine then delivers only sure passes. */
  set gated(on: boolean) {
    native().fpSetGated(this.#handle, on);
  }

  setSessions(peer: Peer): void {
    const entry = this.#peers.get(peer);
    if (entry === undefined) return;
    const of = (kp: Keypair | null) => (kp === null ? null : (this.#keypairs.get(kp) ?? null));
    native().fpPeerSessions(this.#handle, entry.handle, of(peer.current), of(peer.next));
  }

  addKeypair(peer: Peer, kp: Keypair, keys: { send: Uint8Array; recv: Uint8Array }): FastKeypair {
    const entry = this.#peers.get(peer);
    if (entry === undefined) throw new Error('the fast path has no such peer');
    const added = native().fpKeypairAdd(
      this.#handle,
      entry.handle,
      kp.localIndex,
      kp.remoteIndex,
      kp.isInitiator,
      kp.created,
      keys.send,
      keys.recv,
    );
    this.#keypairs.set(kp, added.handle);
    const addon = native();
    return {
      state: added.shared,
      replay: { accept: (counter, limit) => addon.fpReplayAccept(added.handle, counter, limit) },
    };
  }

  removeKeypair(kp: Keypair): void {
    const handle = this.#keypairs.get(kp);
    if (handle !== undefined) native().fpKeypairRemove(this.#handle, handle);
  }

  setRoutes(routes: () => readonly FastRoute[]): void {
    // Built once the changes of this turn are done: a configuration adds routes one by one.
    if (this.#routes === null) queueMicrotask(() => this.#flushRoutes());
    this.#routes = routes;
  }

  #flushRoutes(): void {
    const routes = this.#routes?.();
    this.#routes = null;
    if (routes === undefined) return;
    const addrs = new Uint8Array(16 * routes.length);
    const meta = new Uint32Array(2 * routes.length);
    routes.forEach((r, i) => {
      addrs.set(r.addr, 16 * i);
      meta[2 * i] = r.addr.length | (r.cidr << 8);
      meta[2 * i + 1] = this.#peers.get(r.peer)?.slot ?? 0xffffffff;
    });
    native().fpSetRoutes(this.#handle, addrs, meta);
  }

  send(packet: Uint8Array, now: number): FastSend {
    this.#flushRoutes();
    const r = native().fpSend(this.#handle, packet, now);
    if (typeof r === 'number') return r === DONE ? DROPPED : PUNTED;
    const peer = this.#bySlot[this.#shared[LAST_PEER]!];
    if (peer === undefined) return PUNTED;
    return { kind: 'sealed', peer, data: r, rekey: this.#shared[LAST_REKEY] === 1 };
  }

  receive(data: Uint8Array, from: Endpoint, now: number): FastReceive {
    this.#flushRoutes();
    const r = native().fpReceive(this.#handle, data, from.host, from.port, now);
    if (typeof r === 'number') return r === PUNT ? PUNTED : HANDLED;
    const peer = this.#bySlot[this.#shared[LAST_PEER]!];
    return peer === undefined ? HANDLED : { kind: 'deliver', peer, packet: r };
  }

  takeDrops(into: Record<DropReason, number>): void {
    const shared = this.#shared;
    for (let i = 0; i < DROP_REASONS.length; i++) {
      const n = shared[DROPS + i]!;
      if (n === 0) continue;
      into[DROP_REASONS[i]!] += n;
      shared[DROPS + i] = 0;
    }
  }

  takeWake(): number {
    const wake = this.#shared[WAKE]!;
    this.#shared[WAKE] = Number.POSITIVE_INFINITY;
    return wake;
  }

  /**
   * Takes over reading `tun` (opened with vnet headers) and `bind`, which must both be reading
   * already: what the fast path cannot carry still reaches their callbacks; the rest of what the
   * datapath must see goes to `handlers`.
   */
  attach(tun: LinuxTun, bind: LinuxBind, handlers: EngineHandlers, options: EngineOptions = {}): void {
    if (this.#attached) throw new Error('the fast path is already attached');
    this.#flushRoutes();
    // uv_hrtime (process.hrtime) and performance.now() are both CLOCK_MONOTONIC.
    const offset = Number(process.hrtime.bigint()) / 1e6 - performance.now();
    native().fpAttach(
      this.#handle,
      tun.nativeHandle(),
      bind.nativeHandle(),
      offset,
      options.gso ?? process.env.BURROW_UDP_GSO !== '0',
      options.gro ?? process.env.BURROW_UDP_GRO !== '0',
      (slots, judged, judgedCount, judgedHosts, flows, flowsCount) => {
        // Flows first: a reply judged below may answer one of them.
        if (flows !== undefined) handlers.flows(splitPackets(flows, flowsCount));
        if (judged !== undefined && judgedHosts !== undefined) {
          handlers.judge(this.#judged(judged, judgedCount, judgedHosts));
        }
        const peers: Peer[] = [];
        for (const slot of slots) {
          const peer = this.#bySlot[slot];
          if (peer !== undefined) peers.push(peer);
        }
        handlers.rekey(peers);
      },
    );
    this.#attached = true;
  }

  /** Packets to judge: back to back, then [length, port | host << 16, peer slot] each. */
  #judged(buffer: ArrayBuffer, count: number, hosts: string[]) {
    const table = new Uint32Array(buffer, buffer.byteLength - 12 * count, 3 * count);
    const out: { packet: Uint8Array; peer: Peer; origin: Endpoint }[] = [];
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const length = table[3 * i]!;
      const meta = table[3 * i + 1]!;
      const peer = this.#bySlot[table[3 * i + 2]!];
      if (peer !== undefined) {
        out.push({
          packet: new Uint8Array(buffer, offset, length),
          peer,
          origin: { host: hosts[meta >>> 16]!, port: meta & 0xffff },
        });
      }
      offset += length;
    }
    return out;
  }

  detach(): void {
    if (!this.#attached) return;
    native().fpDetach(this.#handle);
    this.#attached = false;
  }

  /** When the driver's timer fires next: deadlines the fast path sets before it are reported. */
  set armed(at: number) {
    this.#shared[ARMED] = at;
  }

  stats(): NativeFastPathStats {
    return native().fpStats(this.#handle);
  }
}

/** Packets back to back, then their uint32 lengths (the TUN batch layout). */
function splitPackets(buffer: ArrayBuffer, count: number): Uint8Array[] {
  const lengths = new Uint32Array(buffer, buffer.byteLength - 4 * count, count);
  const packets: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    packets.push(new Uint8Array(buffer, offset, lengths[i]!));
    offset += lengths[i]!;
  }
  return packets;
}

/** A replay window of the fast path's own, to test it against replay.ts's tests. */
export function nativeReplayWindow(): { accept(counter: number, limit: number): boolean; reset(): void } {
  const addon = native();
  const handle = addon.fpReplayNew();
  return {
    accept: (counter, limit) => addon.fpReplayAccept(handle, counter, limit),
    reset: () => addon.fpReplayReset(handle),
  };
}
