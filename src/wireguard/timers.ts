import type { ProtocolLimits } from './constants.js';
import { PEER_FIELDS, PeerField } from './fast-path.js';

/** The five per-peer timers of WireGuard (whitepaper §6, wireguard-go timers.go). */
export type TimerName =
  | 'retransmitHandshake'
  | 'sendKeepalive'
  | 'newHandshake'
  | 'zeroKeyMaterial'
  | 'persistentKeepalive';

const NONE = Number.POSITIVE_INFINITY;

/**
 * A pure timer state machine: protocol events set or clear deadlines, and `due(now)` says which
 * have expired. No clocks or callbacks: the caller passes the time and acts on what is due.
 *
 * The deadlines live in `state` (with the peer's byte counters, see PeerField), which a transport
 * fast path (fast-path.ts) shares: it applies the per-packet events below to the same memory.
 */
export class PeerTimers {
  /** The peer's shared state; replaced (contents copied) when a fast path takes the peer on. */
  state: Float64Array = new Float64Array(PEER_FIELDS).fill(NONE, 0, PeerField.needAnotherKeepalive);

  get retransmitHandshake(): number {
    return this.state[PeerField.retransmitHandshake]!;
  }
  set retransmitHandshake(at: number) {
    this.state[PeerField.retransmitHandshake] = at;
  }
  get sendKeepalive(): number {
    return this.state[PeerField.sendKeepalive]!;
  }
  set sendKeepalive(at: number) {
    this.state[PeerField.sendKeepalive] = at;
  }
  get newHandshake(): number {
    return this.state[PeerField.newHandshake]!;
  }
  set newHandshake(at: number) {
    this.state[PeerField.newHandshake] = at;
  }
  get zeroKeyMaterial(): number {
    return this.state[PeerField.zeroKeyMaterial]!;
  }
  set zeroKeyMaterial(at: number) {
    this.state[PeerField.zeroKeyMaterial] = at;
  }
  get persistentKeepalive(): number {
    return this.state[PeerField.persistentKeepalive]!;
  }
  set persistentKeepalive(at: number) {
    this.state[PeerField.persistentKeepalive] = at;
  }
  /** Set when data arrived while a keepalive was already scheduled: send one more after it. */
  get needAnotherKeepalive(): boolean {
    return this.state[PeerField.needAnotherKeepalive] !== 0;
  }
  set needAnotherKeepalive(on: boolean) {
    this.state[PeerField.needAnotherKeepalive] = on ? 1 : 0;
  }
  get handshakeAttempts(): number {
    return this.state[PeerField.handshakeAttempts]!;
  }
  set handshakeAttempts(n: number) {
    this.state[PeerField.handshakeAttempts] = n;
  }
  /** Persistent keepalive interval in ms, 0 when off. */
  get persistentKeepaliveInterval(): number {
    return this.state[PeerField.persistentKeepaliveInterval]!;
  }
  set persistentKeepaliveInterval(ms: number) {
    this.state[PeerField.persistentKeepaliveInterval] = ms;
  }

  constructor(
    private readonly limits: ProtocolLimits,
    /** Uniform random jitter in [0, 1), injected so tests are reproducible. */
    private readonly jitter: () => number,
    /** Told of every deadline set, so the owner can keep its earliest wake-up current. */
    private readonly onSchedule: (at: number) => void,
  ) {}

  private set(name: TimerName, at: number): void {
    this[name] = at;
    this.onSchedule(at);
  }

  /** The earliest deadline, or Infinity. */
  next(): number {
    return Math.min(
      this.retransmitHandshake,
      this.sendKeepalive,
      this.newHandshake,
      this.zeroKeyMaterial,
      this.persistentKeepalive,
    );
  }

  /** Clears and returns the timers whose deadline is at or before `now`, in a fixed order. */
  due(now: number): TimerName[] {
    const fired: TimerName[] = [];
    for (const name of ORDER) {
      if (this[name] <= now) {
        this[name] = NONE;
        fired.push(name);
      }
    }
    return fired;
  }

  /** We sent a data packet: if nothing comes back in time, start a new handshake. */
  dataSent(now: number): void {
    if (this.newHandshake === NONE) {
      this.set('newHandshake', now + this.limits.keepaliveTimeout + this.limits.rekeyTimeout);
    }
  }

  /** We received a data packet: acknowledge it with a keepalive unless we send something first. */
  dataReceived(now: number): void {
    if (this.sendKeepalive === NONE) this.set('sendKeepalive', now + this.limits.keepaliveTimeout);
    else this.needAnotherKeepalive = true;
  }

  anyAuthenticatedPacketSent(): void {
    this.sendKeepalive = NONE;
  }

  anyAuthenticatedPacketReceived(): void {
    this.newHandshake = NONE;
  }

  anyAuthenticatedPacketTraversal(now: number): void {
    if (this.persistentKeepaliveInterval > 0)
      this.set('persistentKeepalive', now + this.persistentKeepaliveInterval);
  }

  handshakeInitiated(now: number): void {
    this.set(
      'retransmitHandshake',
      now + this.limits.rekeyTimeout + this.jitter() * this.limits.rekeyTimeoutJitterMax,
    );
  }

  handshakeComplete(): void {
    this.retransmitHandshake = NONE;
    this.handshakeAttempts = 0;
  }

  sessionDerived(now: number): void {
    this.set('zeroKeyMaterial', now + this.limits.rejectAfterTime * 3);
  }

  /** After giving up on a handshake: forget queued work, and erase keys later if not already due. */
  handshakeGaveUp(now: number): void {
    this.sendKeepalive = NONE;
    if (this.zeroKeyMaterial === NONE) this.set('zeroKeyMaterial', now + this.limits.rejectAfterTime * 3);
  }

  /** Arms the keepalive again if more data arrived while the last one was pending. */
  keepaliveSent(now: number): void {
    if (this.needAnotherKeepalive) {
      this.needAnotherKeepalive = false;
      this.set('sendKeepalive', now + this.limits.keepaliveTimeout);
    }
  }

  stopAll(): void {
    this.retransmitHandshake = NONE;
    this.sendKeepalive = NONE;
    this.newHandshake = NONE;
    this.zeroKeyMaterial = NONE;
    this.persistentKeepalive = NONE;
  }
}

const ORDER: readonly TimerName[] = [
  'retransmitHandshake',
  'sendKeepalive',
  'newHandshake',
  'zeroKeyMaterial',
  'persistentKeepalive',
];
