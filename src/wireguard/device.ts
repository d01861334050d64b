import { parseIpHeader } from '../packet/ip.js';
import type { Action, Endpoint } from './actions.js';
import { HANDSHAKE_INITIATION_RATE, MAX_STAGED_PACKETS } from './constants.js';
import { DeviceState, keyId } from './device-state.js';
import type { DropReason } from './drops.js';
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  transportKeys,
} from './handshake.js';
import type { Keypair } from './keypair.js';
import { CookieReply, classify, Initiation, Response, readCounter, readU32, Transport } from './messages.js';
import type { Peer } from './peer.js';
import { compareTai64n } from './tai64n.js';
import type { TimerName } from './timers.js';
import { sealTransport } from './transport.js';

export type { DeviceOptions } from './device-state.js';

/**
 * The WireGuard protocol core for one interface: it takes datagrams, tunnel packets and the time,
 * and returns actions. It owns peers, sessions, the index table and cryptokey routing, and does no I/O.
 */
export class Device extends DeviceState {
  /** Starts a handshake with `peer` when a fast path found its session due for a rekey. */
  rekey(peer: Peer, now: number): Action[] {
    const out: Action[] = [];
    if (this.peersByKey.get(keyId(peer.publicKey)) === peer) this.sendInitiation(peer, now, false, out);
    return out;
  }

  /** An outbound IP packet from the tunnel. */
  send(packet: Uint8Array, now: number): Action[] {
    const out: Action[] = [];
    if (this.fastPath !== null) {
      const fast = this.fastPath.send(packet, now);
      this.syncFastPath();
      if (fast.kind === 'dropped') return out;
      if (fast.kind === 'sealed') {
        out.push({ kind: 'send', peer: fast.peer, endpoint: fast.peer.endpoint!, data: fast.data });
        if (fast.rekey) this.sendInitiation(fast.peer, now, false, out);
        return out;
      }
    }
    const header = parseIpHeader(packet);
    if (header === null) {
      this.drop('bad-inner-packet');
      return out;
    }
    const peer = this.allowedIps.lookup(packet, header.dstOffset, header.addressLength);
    if (peer === undefined) {
      this.drop('no-route');
      return out;
    }
    this.stage(peer, packet);
    this.sendStaged(peer, now, out);
    return out;
  }

  /** Sends a keepalive to `peer` now (starting a handshake if there is no session). */
  keepalive(peer: Peer, now: number): Action[] {
    const out: Action[] = [];
    this.sendKeepalive(peer, now, out);
    return out;
  }

  /**
   * Starts a handshake with `peer` unless one was sent within REKEY_TIMEOUT; with `evenIfRecent`,
   * regardless (for a peer the driver knows has just come back: the earlier initiations were lost).
   */
  initiate(peer: Peer, now: number, evenIfRecent = false): Action[] {
    const out: Action[] = [];
    if (evenIfRecent) peer.lastInitiationSent = Number.NEGATIVE_INFINITY;
    this.sendInitiation(peer, now, false, out);
    return out;
  }

  /** A datagram from the network. Never throws: anything wrong is dropped and counted. */
  receive(data: Uint8Array, from: Endpoint, now: number): Action[] {
    const out: Action[] = [];
    try {
      const refused = this.dispatch(data, from, now, out);
      if (refused !== null) this.drop(refused);
    } catch {
      this.drop('internal-error');
    }
    return out;
  }

  private dispatch(data: Uint8Array, from: Endpoint, now: number, out: Action[]): DropReason | null {
    if (this.fastPath !== null) {
      const fast = this.fastPath.receive(data, from, now);
      this.syncFastPath();
      if (fast.kind === 'deliver') out.push({ kind: 'deliver', peer: fast.peer, packet: fast.packet });
      if (fast.kind !== 'punt') return null;
    }
    const kind = classify(data);
    switch (kind) {
      case 'transport':
        return this.receiveTransport(data, from, now, out);
      case 'initiation':
        return this.receiveInitiation(data, from, now, out);
      case 'response':
        return this.receiveResponse(data, from, now, out);
      case 'cookie-reply':
        return this.receiveCookieReply(data, now);
      default:
        return kind;
    }
  }

  /** Runs every timer that is due. */
  tick(now: number): Action[] {
    const out: Action[] = [];
    if (now < this.wake) return out;
    let wake = Number.POSITIVE_INFINITY;
    for (const peer of this.peersByKey.values()) {
      for (const timer of peer.timers.due(now)) this.onTimer(peer, timer, now, out);
      wake = Math.min(wake, peer.timers.next(), this.sessions.sweep(peer, now));
    }
    this.wake = wake;
    return out;
  }

  // --- outbound ---

  private stage(peer: Peer, packet: Uint8Array): void {
    if (peer.staged.length >= MAX_STAGED_PACKETS) {
      peer.staged.shift();
      this.drop('staged-overflow');
    }
    peer.staged.push(packet);
  }

  private sendKeepalive(peer: Peer, now: number, out: Action[]): void {
    if (peer.staged.length === 0) peer.staged.push(new Uint8Array(0));
    this.sendStaged(peer, now, out);
  }

  private sendStaged(peer: Peer, now: number, out: Action[]): void {
    const kp = peer.current;
    if (kp === null || !this.usableForSending(kp, now)) {
      this.sendInitiation(peer, now, false, out);
      return;
    }
    if (peer.endpoint === null) {
      this.drops['no-endpoint'] += peer.staged.length;
      peer.staged = [];
      return;
    }
    const staged = peer.staged;
    peer.staged = [];
    for (const packet of staged) this.sealTransport(peer, kp, packet, now, out);
    // Keep the key fresh (wireguard-go keepKeyFreshSending): by count on both sides, by age only as initiator.
    if (
      kp.sendCounter > this.limits.rekeyAfterMessages ||
      (kp.isInitiator && now - kp.created >= this.limits.rekeyAfterTime)
    ) {
      this.sendInitiation(peer, now, false, out);
    }
  }

  private usableForSending(kp: Keypair, now: number): boolean {
    return kp.sendCounter < this.limits.rejectAfterMessages && now - kp.created < this.limits.rejectAfterTime;
  }

  private sealTransport(peer: Peer, kp: Keypair, packet: Uint8Array, now: number, out: Action[]): void {
    const message = sealTransport(kp, packet, this.mtu);
    peer.txBytes += message.length;
    peer.timers.anyAuthenticatedPacketTraversal(now);
    peer.timers.anyAuthenticatedPacketSent();
    if (packet.length > 0) peer.timers.dataSent(now);
    out.push({ kind: 'send', peer, endpoint: peer.endpoint!, data: message });
  }

  private sendInitiation(peer: Peer, now: number, isRetry: boolean, out: Action[]): void {
    if (!isRetry) peer.timers.handshakeAttempts = 0;
    if (now - peer.lastInitiationSent < this.limits.rekeyTimeout) return;
    if (peer.endpoint === null || peer.staticStatic === null) return;
    peer.lastInitiationSent = now;
    const ephemeral = this.newEphemeral();
    const localIndex = this.sessions.newIndex();
    const created = createInitiation(
      this.crypto,
      this.start,
      this.local,
      ephemeral,
      peer.publicKey,
      peer.staticStatic,
      localIndex,
      this.wallTime(now),
    );
    if (created === null) return;
    peer.cookies.addMacs(created.message, Initiation.mac1, now);
    this.sessions.startHandshake(peer, { noise: created.handshake, ephemeral, localIndex });
    peer.txBytes += created.message.length;
    peer.timers.anyAuthenticatedPacketTraversal(now);
    peer.timers.anyAuthenticatedPacketSent();
    peer.timers.handshakeInitiated(now);
    out.push({ kind: 'send', peer, endpoint: peer.endpoint, data: created.message });
  }

  // --- inbound ---

  private receiveTransport(data: Uint8Array, from: Endpoint, now: number, out: Action[]): DropReason | null {
    const entry = this.sessions.get(readU32(data, Transport.receiver));
    const kp = entry?.keypair;
    if (entry === undefined || kp == null) return 'unknown-receiver-index';
    const { peer } = entry;
    if (now - kp.created >= this.limits.rejectAfterTime) return 'expired-keypair';
    const counter = readCounter(data, Transport.counter);
    if (counter >= this.limits.rejectAfterMessages) return 'counter-limit';
    const plaintext = kp.recv.open(counter, data.subarray(Transport.payload), null);
    if (plaintext === null) return 'decrypt-failed';
    if (!kp.replay.accept(counter, this.limits.rejectAfterMessages)) return 'replayed';
    // Roaming: the endpoint follows the latest authenticated packet.
    this.roam(peer, from);

    if (kp === peer.next) {
      // The initiator has started using the session we answered: it becomes current.
      this.sessions.confirmNext(peer, now);
      peer.timers.handshakeComplete();
      peer.lastHandshakeWall = this.wallTime(now);
      this.sendStaged(peer, now, out);
    }
    this.keepKeyFreshReceiving(peer, now, out);
    peer.timers.anyAuthenticatedPacketTraversal(now);
    peer.timers.anyAuthenticatedPacketReceived();
    peer.rxBytes += data.length;
    if (plaintext.length === 0) return null; // keepalive

    peer.timers.dataReceived(now);
    const header = parseIpHeader(plaintext);
    if (header === null || header.totalLength > plaintext.length) return 'bad-inner-packet';
    if (this.allowedIps.lookup(plaintext, header.srcOffset, header.addressLength) !== peer) {
      return 'disallowed-source';
    }
    out.push({ kind: 'deliver', peer, packet: plaintext.subarray(0, header.totalLength) });
    return null;
  }

  private keepKeyFreshReceiving(peer: Peer, now: number, out: Action[]): void {
    if (peer.sentLastMinuteHandshake) return;
    const kp = peer.current;
    const { rejectAfterTime, keepaliveTimeout, rekeyTimeout } = this.limits;
    if (kp?.isInitiator && now - kp.created >= rejectAfterTime - keepaliveTimeout - rekeyTimeout) {
      peer.sentLastMinuteHandshake = true;
      this.sendInitiation(peer, now, false, out);
    }
  }

  private receiveInitiation(data: Uint8Array, from: Endpoint, now: number, out: Action[]): DropReason | null {
    const senderIndex = readU32(data, Initiation.sender);
    const refused = this.guard.admit(data, Initiation.mac1, senderIndex, from, now, out);
    if (refused !== null) return refused;
    let unknown = false;
    const read = consumeInitiation(this.crypto, this.start, this.local, data, (key) => {
      const peer = this.peersByKey.get(keyId(key));
      if (peer === undefined || peer.staticStatic === null) {
        unknown = true;
        return null;
      }
      return { ss: peer.staticStatic };
    });
    if (read === null) return unknown ? 'unknown-peer' : 'handshake-failed';
    const peer = this.peersByKey.get(keyId(read.peerPublicKey))!;
    if (peer.lastTimestamp !== null && compareTai64n(read.timestamp, peer.lastTimestamp) <= 0) {
      return 'replayed-initiation';
    }
    if (now - peer.lastInitiationConsumed <= 1000 / HANDSHAKE_INITIATION_RATE) return 'initiation-flood';
    peer.lastTimestamp = read.timestamp;
    peer.lastInitiationConsumed = now;
    this.roam(peer, from);
    peer.rxBytes += data.length;
    peer.timers.anyAuthenticatedPacketTraversal(now);
    peer.timers.anyAuthenticatedPacketReceived();

    const ephemeral = this.newEphemeral();
    const localIndex = this.sessions.newIndex();
    const response = createResponse(
      read.handshake,
      ephemeral,
      peer.publicKey,
      peer.presharedKey,
      localIndex,
      read.senderIndex,
    );
    ephemeral.privateKey.fill(0); // used for ee and se only
    if (response === null) return 'handshake-failed';
    peer.cookies.addMacs(response, Response.mac1, now);
    const kp = this.newKeypair(
      peer,
      transportKeys(read.handshake, false),
      localIndex,
      read.senderIndex,
      false,
      now,
    );
    this.sessions.beginResponderSession(peer, kp, now);
    peer.timers.sessionDerived(now);
    peer.timers.anyAuthenticatedPacketSent();
    peer.txBytes += response.length;
    out.push({ kind: 'send', peer, endpoint: from, data: response });
    return null;
  }

  private receiveResponse(data: Uint8Array, from: Endpoint, now: number, out: Action[]): DropReason | null {
    const senderIndex = readU32(data, Response.sender);
    const refused = this.guard.admit(data, Response.mac1, senderIndex, from, now, out);
    if (refused !== null) return refused;
    const receiver = readU32(data, Response.receiver);
    const entry = this.sessions.get(receiver);
    const hs = entry?.peer.handshake;
    if (entry === undefined || entry.keypair !== null || !hs || hs.localIndex !== receiver) {
      return 'unexpected-response';
    }
    const { peer } = entry;
    if (!consumeResponse(hs.noise, this.local, hs.ephemeral, peer.presharedKey, data)) {
      return 'handshake-failed';
    }
    const kp = this.newKeypair(peer, transportKeys(hs.noise, true), hs.localIndex, senderIndex, true, now);
    this.sessions.beginInitiatorSession(peer, kp, now);
    this.roam(peer, from);
    peer.rxBytes += data.length;
    peer.sentLastMinuteHandshake = false;
    peer.lastHandshakeWall = this.wallTime(now);
    peer.timers.anyAuthenticatedPacketTraversal(now);
    peer.timers.anyAuthenticatedPacketReceived();
    peer.timers.sessionDerived(now);
    peer.timers.handshakeComplete();
    // Confirms the session to the responder, carrying any staged packets.
    this.sendKeepalive(peer, now, out);
    return null;
  }

  private receiveCookieReply(data: Uint8Array, now: number): DropReason | null {
    const entry = this.sessions.get(readU32(data, CookieReply.receiver));
    if (entry === undefined) return 'unknown-receiver-index';
    return entry.peer.cookies.consumeReply(data, now) ? null : 'bad-cookie-reply';
  }

  // --- timers ---

  private onTimer(peer: Peer, timer: TimerName, now: number, out: Action[]): void {
    switch (timer) {
      case 'retransmitHandshake':
        if (peer.timers.handshakeAttempts > this.limits.rekeyAttemptTime / this.limits.rekeyTimeout) {
          // Give up until new traffic asks again.
          peer.staged = [];
          peer.timers.handshakeGaveUp(now);
        } else {
          peer.timers.handshakeAttempts++;
          this.sendInitiation(peer, now, true, out);
        }
        break;
      case 'sendKeepalive':
        this.sendKeepalive(peer, now, out);
        peer.timers.keepaliveSent(now);
        break;
      case 'newHandshake':
        this.sendInitiation(peer, now, false, out);
        break;
      case 'zeroKeyMaterial':
        this.sessions.clear(peer);
        break;
      case 'persistentKeepalive':
        if (peer.timers.persistentKeepaliveInterval > 0) this.sendKeepalive(peer, now, out);
        break;
    }
  }
}
