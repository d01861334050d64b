import type { DiscoEndpoint, EndpointKind } from '../disco/message.js';
import type { Endpoint } from '../wireguard/actions.js';

/**
 * Path selection for one peer, without I/O (the driver sends the pings it asks for and reports
 * the pongs): which of the peer's candidate addresses answers disco pings, which answers fastest,
 * and whether a packet should go there directly, through the relay, or both.
 *
 * A direct address is trusted for TRUST_MS after its last pong. While traffic flows, the chosen
 * address is pinged every HEARTBEAT_MS, so a path that stops answering loses its trust within
 * TRUST_MS and packets go back to the relay; untrusted, packets go through the relay (which always
 * works) and, for GUESS_MS, to the likeliest direct address too, so nothing waits for probing.
 */

export const TRUST_MS = 6500;
export const HEARTBEAT_MS = 2000;
/** Between two rounds of pinging every candidate while there is no direct path. */
export const DISCOVERY_INTERVAL_MS = 5000;
/** With a direct path: how often every candidate is pinged again, for a better one. */
export const UPGRADE_INTERVAL_MS = 60_000;
/** A peer we sent to or heard from this recently is active: it gets heartbeats and discovery. */
export const ACTIVE_MS = 45_000;
/** A ping without a pong after this long is forgotten. */
export const PING_TIMEOUT_MS = 5000;
/** Candidates learned from the network (pings, call-me-maybe) beyond the reported ones, at most. */
export const MAX_LEARNED = 16;
/**
 * A learned address that has neither answered nor been named again (pinged from, called) for this
 * long is dropped: the NAT mapping it stood for is gone, and pinging it every discovery round would
 * only keep a stray conntrack entry alive on the peer's router (see test/support/nat-router.ts).
 */
export const LEARNED_TTL_MS = 120_000;
/**
 * How long packets also go to the likeliest direct address once there is no trusted one: from the
 * first packet, when trust lapses, and when the peer comes back. Long enough for a peer on the LAN
 * to get them while its relay connection is still coming back, and for discovery to find the path;
 * after that a peer that answers no ping directly (UDP blocked, a hard NAT) would cost each packet
 * twice for nothing, which for bulk traffic through the relay is a good part of the sender's work.
 */
export const GUESS_MS = 5000;
/**
 * The hop limit of a discovery round's first pings. They leave through our own NAT, which from then
 * on lets the peer's packets from that address in, and die a hop or so past it, before the peer's
 * router. Reaching that router first would do harm: a router with no inbound filter (a bare Linux
 * masquerade) keeps an unsolicited packet as a flow to itself, which claims the public port toward
 * us, so the peer's own packets to us leave from another port and never match our NAT's flow
 * (test/support/nat-router.ts). A LAN peer, with no router between, still gets and answers them.
 */
export const OPEN_TTL = 2;
/**
 * A round's full pings follow the call-me-maybe's answer through the relay (by then the peer has
 * pinged us, which opened its NAT toward us), or this long after the opening ones if none came.
 */
export const OPEN_WAIT_MS = 1000;
/** A new address must be this much faster than the current one to replace it (no flapping). */
const SWITCH_RATIO = 0.8;

export type Via = Endpoint | 'relay';

/** What the peer path asks its driver to do. */
export type PathAction =
  /**
   * Send a disco ping with `txid` to the peer, directly to `via` or through the relay; with `ttl`,
   * with that hop limit (an opening ping, see OPEN_TTL).
   */
  | { kind: 'ping'; via: Via; txid: Uint8Array; ttl?: number }
  /** Tell the peer our candidate endpoints through the relay, so it pings us while we ping it. */
  | { kind: 'call-me-maybe' };

/**
 * How a candidate address became known: the peer told us of it (in the netmap, or in a
 * call-me-maybe), or a ping of the peer's came from it (a peer-reflexive candidate: the peer's
 * NAT's mapping toward us, which it could not know itself).
 */
export type CandidateSource = 'told' | 'pinged';

export interface PathStatus {
  path: 'direct' | 'relay' | 'none';
  /** How the direct address in use became known (path direct). */
  source: CandidateSource | null;
  /** What the peer said the direct address in use is (a call-me-maybe tells), if it did. */
  kind: EndpointKind | null;
  /** The direct address in use, `host:port` style endpoint. */
  endpoint: Endpoint | null;
  /** Round trip of the last pong on the path in use, ms. */
  latencyMs: number | null;
}

export interface Route {
  /** Send directly to this address (null: not directly). */
  udp: Endpoint | null;
  /** Send through the relay too. */
  relay: boolean;
}

interface Candidate {
  endpoint: Endpoint;
  reported: boolean;
  source: CandidateSource;
  /** What the peer says the address is, from its call-me-maybe (null: not told). */
  kind: EndpointKind | null;
  lastPing: number;
  lastPong: number;
  /** When the network last named it (a ping from it, a call-me-maybe), for learned ones' expiry. */
  lastNamed: number;
  latencyMs: number | null;
}

interface PendingPing {
  via: Via;
  at: number;
}

const key = (e: Endpoint) => `${e.host}|${e.port}`;
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

export class PeerPath {
  private readonly candidates = new Map<string, Candidate>();
  private readonly pending = new Map<string, PendingPing>();
  private best: Candidate | null = null;
  private trustUntil = Number.NEGATIVE_INFINITY;
  private relayLatency: number | null = null;
  private lastActive = Number.NEGATIVE_INFINITY;
  private lastDiscovery = Number.NEGATIVE_INFINITY;
  /** When the current discovery round's full pings are due, if they have not gone yet. */
  private fullPingsDue: number | null = null;
  /** When traffic first needed this peer without a direct path, and when a direct path followed. */
  private firstSend: number | null = null;
  private directAt: number | null = null;
  /** Until when untrusted packets also go to the likeliest address; null: from the next packet on. */
  private guessUntil: number | null = null;
  private wasDirect = false;

  constructor(private readonly random: (n: number) => Uint8Array) {}

  /** The addresses the control server reports for the peer (its local and STUN-mapped endpoints). */
  setReported(endpoints: readonly Endpoint[]): void {
    const wanted = new Set(endpoints.map(key));
    for (const [k, c] of this.candidates) {
      if (!c.reported || wanted.has(k)) continue;
      if (c !== this.best) this.candidates.delete(k);
      else {
        // The peer no longer has the address in use (it restarted, or moved): stop trusting it.
        c.reported = false;
        this.forgetTrust();
      }
    }
    for (const e of endpoints) {
      const c = this.candidates.get(key(e));
      if (c) {
        c.reported = true;
        c.source = 'told';
      } else this.candidates.set(key(e), newCandidate(e, true, 'told'));
    }
  }

  /**
   * The peer came back after being offline: it may have a new socket, so the direct address is no
   * longer trusted (packets take the relay too) and discovery starts with the next packet.
   */
  forgetTrust(): void {
    this.trustUntil = Number.NEGATIVE_INFINITY;
    this.lastDiscovery = Number.NEGATIVE_INFINITY;
    this.guessUntil = null;
  }

  /** Where a packet to the peer goes now. Sending counts as activity; it may start discovery. */
  route(now: number, out: PathAction[]): Route {
    this.lastActive = now;
    if (this.firstSend === null) this.firstSend = now;
    const trusted = this.isDirect(now);
    if (this.wasDirect && !trusted) this.guessUntil = null;
    this.wasDirect = trusted;
    if (!trusted && now - this.lastDiscovery >= DISCOVERY_INTERVAL_MS) this.discover(now, out);
    if (trusted) return { udp: this.best!.endpoint, relay: false };
    // Also straight to the likeliest address for a while: on a LAN it arrives even while the relay
    // cannot deliver (the peer's relay connection is still coming back).
    this.guessUntil ??= now + GUESS_MS;
    return { udp: now < this.guessUntil ? this.guess() : null, relay: true };
  }

  /** The address to try while none is trusted: the last one that answered, else a reported one. */
  guess(): Endpoint | null {
    if (this.best) return this.best.endpoint;
    let first: Endpoint | null = null;
    for (const c of this.candidates.values()) {
      if (!c.endpoint.host.includes(':')) return c.endpoint;
      first ??= c.endpoint;
    }
    return first;
  }

  /**
   * Our own endpoints changed (a port mapping came, STUN saw a new address): a peer in use is told
   * them at once, in a discovery round (a call-me-maybe alone could let its pings reach our NAT
   * before we opened it), rather than at the next periodic one.
   */
  endpointsChanged(now: number, out: PathAction[]): void {
    if (now - this.lastActive <= ACTIVE_MS) this.discover(now, out);
  }

  /** Heartbeats, periodic discovery and expiry; called about once a second. */
  tick(now: number, out: PathAction[]): void {
    for (const [id, p] of this.pending) if (now - p.at > PING_TIMEOUT_MS) this.pending.delete(id);
    for (const [k, c] of this.candidates)
      if (!c.reported && c !== this.best && now - Math.max(c.lastNamed, c.lastPong) > LEARNED_TTL_MS)
        this.candidates.delete(k);
    if (now - this.lastActive > ACTIVE_MS) {
      this.fullPingsDue = null;
      return;
    }
    if (this.fullPingsDue !== null && now >= this.fullPingsDue) this.pingAll(now, out);
    const interval = this.isDirect(now) ? UPGRADE_INTERVAL_MS : DISCOVERY_INTERVAL_MS;
    if (now - this.lastDiscovery >= interval) {
      this.discover(now, out);
      return;
    }
    // Also while untrusted: a path that comes back answers the heartbeat and is trusted again.
    const best = this.best;
    if (best !== null && now - best.lastPing >= HEARTBEAT_MS) this.ping(best.endpoint, now, out);
  }

  /** A packet from the peer arrived (over any path), or went to it by a fast path: the peer is in use. */
  heard(now: number): void {
    if (now > this.lastActive) this.lastActive = now;
  }

  /** The direct address packets go to without the relay, and until when (null: none now). */
  trusted(now: number): { endpoint: Endpoint; until: number } | null {
    return this.isDirect(now) ? { endpoint: this.best!.endpoint, until: this.trustUntil } : null;
  }

  /**
   * The peer pinged us from `from`. That address reaches us, so it becomes a candidate; without a
   * trusted path we ping it back at once: our ping opens our NAT toward it (a hole punch).
   */
  pingedFrom(from: Endpoint, now: number, out: PathAction[]): void {
    this.lastActive = now;
    const c = this.learn(from, 'pinged');
    if (c === null) return;
    c.lastNamed = now;
    if (!this.isDirect(now) && now - c.lastPing >= HEARTBEAT_MS / 4) this.ping(c.endpoint, now, out);
  }

  /**
   * The peer asks to be pinged at these addresses (it has opened its NAT toward ours), and says
   * what each is when it knows. We ping them at once. Without a direct path or a round of our own
   * going, one starts first: its opening pings open our NAT for the peer's full pings, and its
   * call-me-maybe has the peer ping us now, not after its relay ping's round trip.
   */
  callMeMaybe(endpoints: readonly DiscoEndpoint[], now: number, out: PathAction[]): void {
    this.lastActive = now;
    const named: Candidate[] = [];
    for (const e of endpoints) {
      const c = this.learn(e, 'told');
      if (c === null) continue;
      c.source = 'told';
      if (e.kind !== undefined) c.kind = e.kind;
      c.lastNamed = now;
      named.push(c);
    }
    if (!this.isDirect(now) && now - this.lastDiscovery >= DISCOVERY_INTERVAL_MS) this.discover(now, out);
    for (const c of named) this.ping(c.endpoint, now, out);
  }

  /**
   * A pong for one of our pings. Returns false if no ping of ours had this txid (and that via). The
   * relay's pong of a discovery round also sends the round's full pings (see OPEN_WAIT_MS).
   */
  pong(txid: Uint8Array, via: Via, now: number, out: PathAction[] = []): boolean {
    const id = hex(txid);
    const p = this.pending.get(id);
    if (p === undefined || !sameVia(p.via, via)) return false;
    this.pending.delete(id);
    const rtt = now - p.at;
    if (via === 'relay') {
      this.relayLatency = rtt;
      if (this.fullPingsDue !== null) this.pingAll(now, out);
      return true;
    }
    const c = this.candidates.get(key(via)) ?? this.learn(via, 'told');
    if (c === null) return true;
    c.lastPong = now;
    c.latencyMs = rtt;
    const best = this.best;
    if (
      best === null ||
      best === c ||
      !this.isDirect(now) ||
      rtt < (best.latencyMs ?? Infinity) * SWITCH_RATIO
    ) {
      this.best = c;
    }
    if (this.best === c) {
      this.trustUntil = now + TRUST_MS;
      if (this.directAt === null) this.directAt = now;
    }
    return true;
  }

  status(now: number, relayAvailable: boolean): PathStatus {
    if (this.isDirect(now)) {
      const best = this.best!;
      const { source, kind, endpoint, latencyMs } = best;
      return { path: 'direct', source, kind, endpoint, latencyMs };
    }
    return relayAvailable
      ? { path: 'relay', source: null, kind: null, endpoint: null, latencyMs: this.relayLatency }
      : { path: 'none', source: null, kind: null, endpoint: null, latencyMs: null };
  }

  /** Whether packets to the peer go directly now. */
  isDirect(now: number): boolean {
    return this.best !== null && now < this.trustUntil;
  }

  /** Milliseconds from the first packet sent to the peer until the path was direct, if it became so. */
  get timeToDirect(): number | null {
    return this.firstSend !== null && this.directAt !== null
      ? Math.max(0, this.directAt - this.firstSend)
      : null;
  }

  /** Whether `e` ever answered a ping of ours. */
  answered(e: Endpoint): boolean {
    return (this.candidates.get(key(e))?.lastPong ?? Number.NEGATIVE_INFINITY) > Number.NEGATIVE_INFINITY;
  }

  /** Whether `from` is an address this peer is known to send from. */
  has(from: Endpoint): boolean {
    return this.candidates.has(key(from));
  }

  /**
   * A discovery round, in an order that works through NATs with no inbound filter too: opening
   * pings (OPEN_TTL) to every candidate open our NAT toward them; then the call-me-maybe, on which
   * the peer pings us at once, through its own NAT (opening it) and ours (open now); then a ping
   * through the relay, whose pong comes back after that and sends our full pings (`pong`).
   */
  private discover(now: number, out: PathAction[]): void {
    this.lastDiscovery = now;
    for (const c of this.candidates.values()) this.ping(c.endpoint, now, out, OPEN_TTL);
    out.push({ kind: 'call-me-maybe' });
    this.ping('relay', now, out);
    this.fullPingsDue = now + OPEN_WAIT_MS;
  }

  /** The round's full pings, to the candidates that did not answer its opening ones. */
  private pingAll(now: number, out: PathAction[]): void {
    this.fullPingsDue = null;
    for (const c of this.candidates.values())
      if (c.lastPong < this.lastDiscovery) this.ping(c.endpoint, now, out);
  }

  private ping(via: Via, now: number, out: PathAction[], ttl?: number): void {
    const txid = this.random(12);
    this.pending.set(hex(txid), { via, at: now });
    if (ttl !== undefined) {
      // Not counted as a ping to the peer: pinging back when the peer's ping comes must not wait.
      out.push({ kind: 'ping', via, txid, ttl });
      return;
    }
    if (via !== 'relay') {
      const c = this.candidates.get(key(via));
      if (c) c.lastPing = now;
    }
    out.push({ kind: 'ping', via, txid });
  }

  /** Adds an address the network told us of, within the bound on learned addresses. */
  private learn(e: Endpoint, source: CandidateSource): Candidate | null {
    const existing = this.candidates.get(key(e));
    if (existing) return existing;
    let learned = 0;
    let oldest: [string, Candidate] | null = null;
    for (const entry of this.candidates) {
      if (entry[1].reported) continue;
      learned++;
      if (entry[1] !== this.best && (oldest === null || entry[1].lastPong < oldest[1].lastPong))
        oldest = entry;
    }
    if (learned >= MAX_LEARNED) {
      if (oldest === null) return null;
      this.candidates.delete(oldest[0]);
    }
    const c = newCandidate(e, false, source);
    this.candidates.set(key(e), c);
    return c;
  }
}

function newCandidate(endpoint: Endpoint, reported: boolean, source: CandidateSource): Candidate {
  return {
    endpoint: { host: endpoint.host, port: endpoint.port },
    reported,
    source,
    kind: null,
    lastPing: Number.NEGATIVE_INFINITY,
    lastPong: Number.NEGATIVE_INFINITY,
    lastNamed: Number.NEGATIVE_INFINITY,
    latencyMs: null,
  };
}

function sameVia(a: Via, b: Via): boolean {
  if (a === 'relay' || b === 'relay') return a === b;
  return a.host === b.host && a.port === b.port;
}
