import type { ProtocolLimits } from './constants.js';

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
 */
export class PeerTimers {
  retransmitHandshake = NONE;
  sendKeepalive = NONE;
  newHandshake = NONE;
  zeroKeyMaterial = NONE;
  persistentKeepalive = NONE;
  /** Set when data arrived while a keepalive was already scheduled: send one more after it. */
  needAnotherKeepalive = false;
  handshakeAttempts = 0;
  /** Persistent keepalive interval in ms, 0 when off. */
  persistentKeepaliveInterval = 0;

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
