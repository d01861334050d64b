/**
 * The flows this device has sent on, so that the inbound filter can tell a reply from a new
 * connection: TCP and UDP by 5-tuple, ICMP and ICMPv6 echo by (addresses, identifier). A flow is
 * recorded by every packet sent on it, whoever started it, and expires after a timeout of
 * idleness that depends on its protocol.
 *
 * The table is bounded: once it holds `capacity` flows, a new one replaces the flow closest to
 * expiring, so a flood of new flows costs a fixed amount of memory. Entries live in typed arrays
 * (keys as ten 32-bit words, chained hash buckets, one least-recently-used list per protocol), so
 * looking up or recording a flow allocates nothing; the arrays start small and double up to the
 * capacity. Times are monotonic milliseconds passed in by the caller.
 */
import { TCP, UDP } from './packet-fields.js';

/** Idle time after which a flow is forgotten, in milliseconds. */
export interface FlowTimeouts {
  readonly tcp: number;
  readonly udp: number;
  readonly icmp: number;
}

export const DEFAULT_FLOW_TIMEOUTS: FlowTimeouts = Object.freeze({
  // TCP segments other than a bare SYN pass without a flow (see InboundFilter), so a TCP flow only
  // serves packets answering our latest segment: a crossing SYN or an ICMP error. Linux
  // conntrack gives an unanswered SYN 2 minutes too.
  tcp: 2 * 60_000,
  // Above the 2 minutes RFC 4787 sets as the least a NAT may keep an idle UDP mapping, so any
  // application that works through a NAT keeps its flows here.
  udp: 3 * 60_000,
  // Linux conntrack's ICMP timeout: ping sends every second.
  icmp: 30_000,
});

export const DEFAULT_FLOW_CAPACITY = 65_536;

const INITIAL_SLOTS = 256;
const KEY_WORDS = 10;
const NONE = -1;
// Per-protocol lists: within one, all entries share a timeout, so the oldest expires first.
const KINDS = 3;

/** A flow, seen from this device; one is reused for every lookup. */
export class FlowKey {
  readonly words = new Uint32Array(KEY_WORDS);

  /**
   * A flow of `protocol` between this device's address at `packet[local..]`, port `localPort`
   * (or ICMP echo identifier), and the peer's address at `packet[remote..]`, port `remotePort`
   * (0 for ICMP). Addresses are read in place.
   */
  set(
    protocol: number,
    packet: Uint8Array,
    local: number,
    remote: number,
    addressLength: 4 | 16,
    localPort: number,
    remotePort: number,
  ): this {
    const w = this.words;
    w[0] = protocol | (addressLength << 8);
    readAddress(packet, local, addressLength, w, 1);
    readAddress(packet, remote, addressLength, w, 5);
    w[9] = (localPort << 16) | remotePort;
    return this;
  }
}

function readAddress(p: Uint8Array, at: number, length: number, words: Uint32Array, into: number): void {
  for (let i = 0; i < 4; i++, at += 4) {
    words[into + i] =
      i * 4 < length ? (p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]! : 0;
  }
}

/** MurmurHash3 over the key words. */
function hashKey(w: Uint32Array): number {
  let h = 0;
  for (let i = 0; i < KEY_WORDS; i++) {
    let k = Math.imul(w[i]!, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function kindOf(keyWord0: number): number {
  const protocol = keyWord0 & 0xff;
  return protocol === TCP ? 0 : protocol === UDP ? 1 : 2;
}

export class FlowTable {
  readonly capacity: number;
  private readonly timeouts: readonly number[];
  private keys = new Uint32Array(0);
  private hashes = new Uint32Array(0);
  private deadlines = new Float64Array(0);
  /** The next slot in a bucket's chain, or in the free list. */
  private chain = new Int32Array(0);
  private older = new Int32Array(0);
  private newer = new Int32Array(0);
  private buckets = new Int32Array(0);
  /** Slots below this have been handed out: each holds a flow or is on the free list. */
  private used = 0;
  private free = NONE;
  private count = 0;
  private readonly oldest = new Int32Array(KINDS).fill(NONE);
  private readonly newest = new Int32Array(KINDS).fill(NONE);

  constructor(capacity = DEFAULT_FLOW_CAPACITY, timeouts: FlowTimeouts = DEFAULT_FLOW_TIMEOUTS) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity ${capacity} is not >= 1`);
    this.capacity = capacity;
    this.timeouts = [timeouts.tcp, timeouts.udp, timeouts.icmp];
    this.grow(Math.min(capacity, INITIAL_SLOTS));
  }

  /** Flows held, counting expired ones not yet reclaimed (they are reclaimed as flows are added). */
  get size(): number {
    return this.count;
  }

  /** Records a flow we sent on, or extends it: it now expires its timeout after `now`. */
  record(key: FlowKey, now: number): void {
    const hash = hashKey(key.words);
    const found = this.find(key.words, hash);
    if (found !== NONE) {
      this.refresh(found, now);
      return;
    }
    this.reclaimExpired(now);
    if (this.count === this.capacity) this.remove(this.closestToExpiry());
    let slot = this.free;
    if (slot !== NONE) {
      this.free = this.chain[slot]!;
    } else {
      // No free slot means every handed-out slot holds a flow, and there are fewer than capacity.
      if (this.used === this.deadlines.length) this.grow(Math.min(this.used * 2, this.capacity));
      slot = this.used++;
    }
    this.keys.set(key.words, slot * KEY_WORDS);
    this.hashes[slot] = hash;
    const bucket = hash & (this.buckets.length - 1);
    this.chain[slot] = this.buckets[bucket]!;
    this.buckets[bucket] = slot;
    this.count++;
    const kind = kindOf(key.words[0]!);
    this.link(slot, kind);
    this.deadlines[slot] = now + this.timeouts[kind]!;
  }

  /** Whether a flow is tracked and unexpired; if so it is extended, as by `record`. */
  renew(key: FlowKey, now: number): boolean {
    const slot = this.find(key.words, hashKey(key.words));
    if (slot === NONE || this.deadlines[slot]! <= now) return false;
    this.refresh(slot, now);
    return true;
  }

  /** Whether a flow is tracked and unexpired, leaving its timer alone. */
  has(key: FlowKey, now: number): boolean {
    const slot = this.find(key.words, hashKey(key.words));
    return slot !== NONE && this.deadlines[slot]! > now;
  }

  private find(words: Uint32Array, hash: number): number {
    const keys = this.keys;
    for (
      let slot = this.buckets[hash & (this.buckets.length - 1)]!;
      slot !== NONE;
      slot = this.chain[slot]!
    ) {
      if (this.hashes[slot] !== hash) continue;
      let i = 0;
      const base = slot * KEY_WORDS;
      while (i < KEY_WORDS && keys[base + i] === words[i]) i++;
      if (i === KEY_WORDS) return slot;
    }
    return NONE;
  }

  private refresh(slot: number, now: number): void {
    const kind = kindOf(this.keys[slot * KEY_WORDS]!);
    this.deadlines[slot] = now + this.timeouts[kind]!;
    if (this.newest[kind] === slot) return;
    this.unlink(slot, kind);
    this.link(slot, kind);
  }

  private reclaimExpired(now: number): void {
    for (let kind = 0; kind < KINDS; kind++) {
      for (
        let slot = this.oldest[kind]!;
        slot !== NONE && this.deadlines[slot]! <= now;
        slot = this.oldest[kind]!
      ) {
        this.remove(slot);
      }
    }
  }

  /** The oldest flow of the protocol whose oldest flow expires soonest. */
  private closestToExpiry(): number {
    let victim = NONE;
    for (let kind = 0; kind < KINDS; kind++) {
      const slot = this.oldest[kind]!;
      if (slot !== NONE && (victim === NONE || this.deadlines[slot]! < this.deadlines[victim]!))
        victim = slot;
    }
    return victim;
  }

  private remove(slot: number): void {
    const bucket = this.hashes[slot]! & (this.buckets.length - 1);
    if (this.buckets[bucket] === slot) {
      this.buckets[bucket] = this.chain[slot]!;
    } else {
      let prev = this.buckets[bucket]!;
      while (this.chain[prev] !== slot) prev = this.chain[prev]!;
      this.chain[prev] = this.chain[slot]!;
    }
    this.unlink(slot, kindOf(this.keys[slot * KEY_WORDS]!));
    this.chain[slot] = this.free;
    this.free = slot;
    this.count--;
  }

  /** Makes `slot` the newest of its protocol's list. */
  private link(slot: number, kind: number): void {
    const newest = this.newest[kind]!;
    this.older[slot] = newest;
    this.newer[slot] = NONE;
    if (newest === NONE) this.oldest[kind] = slot;
    else this.newer[newest] = slot;
    this.newest[kind] = slot;
  }

  private unlink(slot: number, kind: number): void {
    const older = this.older[slot]!;
    const newer = this.newer[slot]!;
    if (older === NONE) this.oldest[kind] = newer;
    else this.newer[older] = newer;
    if (newer === NONE) this.newest[kind] = older;
    else this.older[newer] = older;
  }

  /** Resizes to `slots` entries and twice as many buckets; only called with no free slot. */
  private grow(slots: number): void {
    const keys = new Uint32Array(slots * KEY_WORDS);
    keys.set(this.keys);
    this.keys = keys;
    const hashes = new Uint32Array(slots);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const deadlines = new Float64Array(slots);
    deadlines.set(this.deadlines);
    this.deadlines = deadlines;
    const older = new Int32Array(slots);
    older.set(this.older);
    this.older = older;
    const newer = new Int32Array(slots);
    newer.set(this.newer);
    this.newer = newer;
    // Every handed-out slot holds a flow, so rebuilding the chains from them loses nothing.
    this.chain = new Int32Array(slots);
    this.buckets = new Int32Array(2 ** Math.ceil(Math.log2(slots * 2))).fill(NONE);
    const mask = this.buckets.length - 1;
    for (let slot = 0; slot < this.used; slot++) {
      const bucket = this.hashes[slot]! & mask;
      this.chain[slot] = this.buckets[bucket]!;
      this.buckets[bucket] = slot;
    }
  }
}
