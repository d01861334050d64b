import type { Keypair } from './keypair.js';
import { readU32 } from './messages.js';
import type { Peer, PendingHandshake } from './peer.js';

/** What a receiver index names: a session, or (keypair null) our pending initiation. */
export interface IndexEntry {
  peer: Peer;
  keypair: Keypair | null;
}

/** What the table tells its owner. */
export interface SessionEvents {
  /** A drained session must be swept at `at`: the owner wakes up for it. */
  wake(at: number): void;
  /** The peer's current or next session changed. */
  changed(peer: Peer): void;
  /** A session left for good; its keys are wiped. */
  retired(kp: Keypair): void;
}

/** Keypairs per peer kept receiving after rotation; bounds memory if a peer handshakes in a loop. */
const MAX_DRAINING = 16;

/**
 * The index table and every peer's session slots (previous, current, next), with the rotations of
 * whitepaper §6.3 / wireguard-go. A session leaving the slots is not erased at once but drained:
 * it keeps accepting packets for `drainTime` (REKEY_TIMEOUT), because when both sides start
 * handshakes at once the peer may have sent on it a moment before it learned of the newer one
 * (wireguard-go drops those packets). It never sends again.
 */
export class SessionTable {
  private readonly indices = new Map<number, IndexEntry>();

  constructor(
    private readonly random: (n: number) => Uint8Array,
    private readonly drainTime: number,
    private readonly events: SessionEvents,
  ) {}

  get(index: number): IndexEntry | undefined {
    return this.indices.get(index);
  }

  /** A fresh random receiver index not in use. */
  newIndex(): number {
    for (;;) {
      const index = readU32(this.random(4), 0);
      if (!this.indices.has(index)) return index;
    }
  }

  /** Records our new initiation, replacing any pending one. */
  startHandshake(peer: Peer, handshake: PendingHandshake): void {
    this.forgetHandshake(peer);
    peer.handshake = handshake;
    this.indices.set(handshake.localIndex, { peer, keypair: null });
  }

  /** Drops our pending initiation, if any, and erases its ephemeral key. */
  forgetHandshake(peer: Peer): void {
    const hs = peer.handshake;
    if (hs === null) return;
    if (this.indices.get(hs.localIndex)?.keypair === null) this.indices.delete(hs.localIndex);
    hs.ephemeral.privateKey.fill(0);
    peer.handshake = null;
  }

  /**
   * We answered an initiation: the session waits in `next` until the initiator sends on it. Our own
   * pending initiation is superseded (wireguard-go keeps one handshake per peer). wireguard-go also
   * drops `previous` here; it stays until `next` is confirmed, when it is drained anyway.
   */
  beginResponderSession(peer: Peer, kp: Keypair, now: number): void {
    this.forgetHandshake(peer);
    this.indices.set(kp.localIndex, { peer, keypair: kp });
    this.drain(peer, peer.next, now);
    peer.next = kp;
    this.events.changed(peer);
  }

  /** Our initiation was answered: the session is current at once. An unconfirmed `next` becomes
   * previous (the peer may be about to use it); otherwise the old current does. */
  beginInitiatorSession(peer: Peer, kp: Keypair, now: number): void {
    if (peer.handshake?.localIndex === kp.localIndex) {
      peer.handshake.ephemeral.privateKey.fill(0);
      peer.handshake = null;
    }
    this.indices.set(kp.localIndex, { peer, keypair: kp });
    this.drain(peer, peer.previous, now);
    if (peer.next !== null) {
      this.drain(peer, peer.current, now);
      peer.previous = peer.next;
      peer.next = null;
    } else {
      peer.previous = peer.current;
    }
    peer.current = kp;
    this.events.changed(peer);
  }

  /** The initiator has sent on the session we answered: it becomes current. */
  confirmNext(peer: Peer, now: number): void {
    this.drain(peer, peer.previous, now);
    peer.previous = peer.current;
    peer.current = peer.next;
    peer.next = null;
    this.events.changed(peer);
  }

  /** Erases every session and the pending handshake of `peer` at once. */
  clear(peer: Peer): void {
    this.forgetHandshake(peer);
    for (const kp of peer.keypairs()) this.retire(kp);
    peer.previous = peer.current = peer.next = null;
    peer.draining = [];
    this.events.changed(peer);
  }

  /** Erases drained sessions whose time is up; returns when the next one is due (or Infinity). */
  sweep(peer: Peer, now: number): number {
    let next = Number.POSITIVE_INFINITY;
    if (peer.draining.length === 0) return next;
    peer.draining = peer.draining.filter(({ kp, until }) => {
      if (until > now) {
        next = Math.min(next, until);
        return true;
      }
      this.retire(kp);
      return false;
    });
    return next;
  }

  private drain(peer: Peer, kp: Keypair | null, now: number): void {
    if (kp === null) return;
    if (peer.draining.length >= MAX_DRAINING) this.retire(peer.draining.shift()!.kp);
    const until = now + this.drainTime;
    peer.draining.push({ kp, until });
    this.events.wake(until);
  }

  private retire(kp: Keypair): void {
    if (this.indices.get(kp.localIndex)?.keypair === kp) this.indices.delete(kp.localIndex);
    kp.wipe();
    this.events.retired(kp);
  }
}
