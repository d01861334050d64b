import type { Endpoint } from './actions.js';
import type { DropReason } from './drops.js';
import type { Keypair } from './keypair.js';
import type { Peer } from './peer.js';

/**
 * A transport fast path: something beside the core (burrowd's native one, helper/fastpath) that
 * seals and opens the transport messages of the sessions the core installs in it, by the core's
 * own rules, so that most packets never reach the core. The core stays the authority: it runs the
 * handshakes, timers and cookies, decides allowed IPs, creates and retires sessions, and tells the
 * fast path of each change. Whatever the fast path cannot decide as the core would (no usable
 * session, a session to confirm, a roaming peer, a key to refresh) it hands back untouched.
 *
 * The state both update per packet is shared memory: each peer's timers, byte counters and flags
 * (`PeerTimers.state`, laid out as `PeerField` says) and each session's send counter
 * (`Keypair.state`). A fast path and the core never run at the same time.
 */
export interface FastPath {
  /** A peer joins: returns the storage to use from now on for its state (the caller copies it in). */
  addPeer(peer: Peer): Float64Array;
  removePeer(peer: Peer): void;
  /** The peer's endpoint changed (peer.endpoint). */
  setEndpoint(peer: Peer): void;
  /** The peer's current or next session changed. */
  setSessions(peer: Peer): void;
  /** A new session, with its transport keys (zeroed by the caller afterwards). */
  addKeypair(peer: Peer, kp: Keypair, keys: { send: Uint8Array; recv: Uint8Array }): FastKeypair;
  /** A session retired: its keys are wiped. */
  removeKeypair(kp: Keypair): void;
  /** The allowed IPs changed: `routes` gives the whole table (called before the next packet). */
  setRoutes(routes: () => readonly FastRoute[]): void;
  /** Seals an outbound packet, or says why not (the core then handles it). */
  send(packet: Uint8Array, now: number): FastSend;
  /** Opens a datagram, or says why not. */
  receive(data: Uint8Array, from: Endpoint, now: number): FastReceive;
  /** Adds the drops the fast path counted since the last call to `into`, and zeroes its own. */
  takeDrops(into: Record<DropReason, number>): void;
  /** The earliest deadline the fast path set since the last call (Infinity for none). */
  takeWake(): number;
}

/** What the core keeps of a session installed in the fast path. */
export interface FastKeypair {
  /** The session's shared state (KeypairField). */
  readonly state: Float64Array;
  readonly replay: ReplayWindow;
}

/** The anti-replay window of a session (replay.ts's rules). */
export interface ReplayWindow {
  accept(counter: number, limit: number): boolean;
}

export interface FastRoute {
  addr: Uint8Array;
  cidr: number;
  peer: Peer;
}

export type FastSend =
  /** The sealed message for `peer`; `rekey` when the core must start a handshake (sendStaged's check). */
  | { kind: 'sealed'; peer: Peer; data: Uint8Array; rekey: boolean }
  /** Dropped, and counted by the fast path (no route). */
  | { kind: 'dropped' }
  | { kind: 'punt' };

export type FastReceive =
  /** An authenticated inner packet from `peer` to deliver. */
  | { kind: 'deliver'; peer: Peer; packet: Uint8Array }
  /** Handled: a keepalive, or dropped and counted. */
  | { kind: 'done' }
  | { kind: 'punt' };

/** Where each field of a peer's shared state is (helper/native/fp-core.h has the same numbers). */
export const PeerField = {
  retransmitHandshake: 0,
  sendKeepalive: 1,
  newHandshake: 2,
  zeroKeyMaterial: 3,
  persistentKeepalive: 4,
  needAnotherKeepalive: 5,
  handshakeAttempts: 6,
  persistentKeepaliveInterval: 7,
  rxBytes: 8,
  txBytes: 9,
  sentLastMinuteHandshake: 10,
  /** When the fast path last sent to or received from the peer (a mesh path stays active). */
  lastActive: 11,
} as const;
export const PEER_FIELDS = 12;

export const KeypairField = { sendCounter: 0 } as const;
export const KEYPAIR_FIELDS = 2;

/** Bumped with any change to the layouts (FP_LAYOUT_VERSION in fp-core.h). */
export const FAST_PATH_LAYOUT = 2;
