import type { CryptoProvider } from '../crypto/types.js';
import type { Endpoint } from './actions.js';
import type { ProtocolLimits } from './constants.js';
import { CookieGenerator } from './cookie.js';
import { type FastPath, PeerField } from './fast-path.js';
import type { Keypair } from './keypair.js';
import type { IKpsk2, StaticKeyPair } from './noise.js';
import { PeerTimers } from './timers.js';

/** A handshake we started (initiator) and are waiting on. */
export interface PendingHandshake {
  noise: IKpsk2;
  ephemeral: StaticKeyPair;
  localIndex: number;
}

export interface PeerConfig {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array | null;
  endpoint?: Endpoint | null;
  /** Seconds between keepalives, 0 or absent for none. */
  persistentKeepalive?: number;
}

const ZERO_KEY = new Uint8Array(32);

/** One WireGuard peer: its configuration, session slots, timers and counters. */
export class Peer {
  readonly publicKey: Uint8Array;
  presharedKey: Uint8Array;
  #endpoint: Endpoint | null;
  /** The fast path this peer is installed in, told of endpoint changes (Device.attachFastPath). */
  fastPath: FastPath | null = null;
  /** DH(our static, their static), computed once: every handshake with this peer needs it. */
  staticStatic: Uint8Array | null;

  readonly timers: PeerTimers;
  readonly cookies: CookieGenerator;
  handshake: PendingHandshake | null = null;
  /** Session slots (whitepaper §6.3 and wireguard-go): `next` is a responder's session that the
   * initiator has not yet confirmed by sending on it. */
  previous: Keypair | null = null;
  current: Keypair | null = null;
  next: Keypair | null = null;

  /** Sessions rotated out of the slots that still accept packets until `until` (see SessionTable.drain). */
  draining: { kp: Keypair; until: number }[] = [];

  /** Packets waiting for a session, oldest first. */
  staged: Uint8Array[] = [];
  /** When our last initiation went out (monotonic ms), -Infinity if never. */
  lastInitiationSent = Number.NEGATIVE_INFINITY;
  /** The newest initiation timestamp accepted from this peer (TAI64N), to refuse replays. */
  lastTimestamp: Uint8Array | null = null;
  lastInitiationConsumed = Number.NEGATIVE_INFINITY;

  /** Wall-clock ms of the last completed handshake, 0 if none (as `wg show` reports it). */
  lastHandshakeWall = 0;

  constructor(
    crypto: CryptoProvider,
    config: PeerConfig,
    staticStatic: Uint8Array | null,
    limits: ProtocolLimits,
    jitter: () => number,
    onSchedule: (at: number) => void,
  ) {
    this.publicKey = config.publicKey.slice();
    this.presharedKey = config.presharedKey ? config.presharedKey.slice() : ZERO_KEY;
    this.#endpoint = config.endpoint ?? null;
    this.staticStatic = staticStatic;
    this.timers = new PeerTimers(limits, jitter, onSchedule);
    this.timers.persistentKeepaliveInterval = (config.persistentKeepalive ?? 0) * 1000;
    this.cookies = new CookieGenerator(crypto, this.publicKey, limits.cookieRefreshTime);
  }

  get endpoint(): Endpoint | null {
    return this.#endpoint;
  }
  set endpoint(endpoint: Endpoint | null) {
    this.#endpoint = endpoint;
    this.fastPath?.setEndpoint(this);
  }

  // Kept in the timers' shared state, which a fast path updates too.
  get rxBytes(): number {
    return this.timers.state[PeerField.rxBytes]!;
  }
  set rxBytes(n: number) {
    this.timers.state[PeerField.rxBytes] = n;
  }
  get txBytes(): number {
    return this.timers.state[PeerField.txBytes]!;
  }
  set txBytes(n: number) {
    this.timers.state[PeerField.txBytes] = n;
  }
  get sentLastMinuteHandshake(): boolean {
    return this.timers.state[PeerField.sentLastMinuteHandshake] !== 0;
  }
  set sentLastMinuteHandshake(on: boolean) {
    this.timers.state[PeerField.sentLastMinuteHandshake] = on ? 1 : 0;
  }

  /** Every live session, for index clean-up. */
  keypairs(): Keypair[] {
    const out: Keypair[] = [];
    if (this.previous) out.push(this.previous);
    if (this.current) out.push(this.current);
    if (this.next) out.push(this.next);
    for (const d of this.draining) out.push(d.kp);
    return out;
  }
}
