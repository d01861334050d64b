import type { LookupFunction } from 'node:net';
import { FrameError, type FrameReader } from '../../src/control/framing.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import {
  encodePing,
  encodeSend,
  MAX_BATCH_PACKET,
  parseRelayFrame,
  type RelayFrame,
  RelayFrameError,
  type RelayVersion,
} from '../../src/relay/frames.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import { dialRelay, type Link } from './relay-dial.js';

export interface RelayClientOptions {
  /** The relay's URL from the relay map (http, https, ws or wss; the path is always /relay/v1). */
  url: string;
  /** The relay's static public key, pinned: a relay that cannot prove it is not used. */
  relayPublicKey: Uint8Array;
  /** This device's WireGuard node key pair; the relay delivers packets addressed to its public half. */
  node: StaticKeyPair;
  crypto: CryptoProvider;
  random: (n: number) => Uint8Array;
  /** Unix wall-clock ms, for the hello's timestamp. */
  now: () => number;
  /** Unsent bytes the socket may hold before `send` drops packets. Default 1 MiB. */
  maxQueueBytes?: number;
  /** First reconnect delay, doubled after each failure up to `maxBackoffMs`. Default 100 ms. */
  minBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  /** How often the relay is pinged, both to keep the connection and to notice it dying. Default 30 s. */
  keepaliveMs?: number;
  /** Time allowed from connecting to a finished handshake. Default 10 s. */
  connectTimeoutMs?: number;
  /** How the relay's host name is looked up; by default, DNS. */
  lookup?: LookupFunction;
  /** The highest protocol version to ask for (tests use 1 to act as an older device). Default 2. */
  maxVersion?: RelayVersion;
}

export interface RelayClientStats {
  /** Handshakes completed, the first one included. */
  connects: number;
  sentPackets: number;
  receivedPackets: number;
  dropped: {
    /** Packets `send` was given while there was no connection. */
    disconnected: number;
    /** Packets `send` was given while the socket's unsent bytes exceeded the bound. */
    queueFull: number;
  };
}

interface PendingPing {
  start: number;
  resolve(rttMs: number): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

// A connection that lasted this long was a success: the next reconnect starts from the shortest delay.
const STABLE_MS = 10_000;
/** Packets sent before the first connection wait for it: the newest this many, at most this old. */
const FIRST_HOLD_PACKETS = 16;
const FIRST_HOLD_MS = 2000;

/**
 * A device's connection to one relay: authenticates with the node key, sends and receives packets
 * by node key, and stays connected by reconnecting with exponential backoff and jitter. While there
 * is no connection, packets are dropped and counted (WireGuard retransmits what matters), so
 * nothing is ever queued without bound. The exception is a client's first connection, which comes
 * within milliseconds: the few packets sent before it wait for it (the newest FIRST_HOLD_PACKETS,
 * for FIRST_HOLD_MS). Those are a peer's first handshake initiations, and WireGuard would resend a
 * lost one only after 5 s.
 */
export class RelayClient {
  private link: Link | undefined;
  private abort: ((reason: string) => void) | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private isClosed = false;
  private nextPingId = 0;
  private readonly pings = new Map<number, PendingPing>();
  private waiters: { resolve(): void; reject(error: Error): void }[] = [];
  /** Packets waiting for the first connection (see the class comment), oldest first; null after. */
  private held: { dst: Uint8Array; packet: Uint8Array; at: number }[] | null = [];
  private packetHandler: (src: Uint8Array, packets: Uint8Array[]) => void = () => {};
  private peerGoneHandler: (key: Uint8Array) => void = () => {};
  private healthHandler: (message: string) => void = () => {};
  private connectionHandler: (connected: boolean, reason: string) => void = () => {};
  private readonly counters: RelayClientStats = {
    connects: 0,
    sentPackets: 0,
    receivedPackets: 0,
    dropped: { disconnected: 0, queueFull: 0 },
  };

  constructor(private readonly options: RelayClientOptions) {
    this.connect();
  }

  get connected(): boolean {
    return this.link !== undefined;
  }

  /**
   * Whether the relay has failed us: not connected, and at least one attempt (or the connection
   * itself) failed since. A client still making its first attempt is not down, only not yet up.
   */
  get down(): boolean {
    return this.link === undefined && this.failures > 0;
  }

  /** The protocol version of the current connection (2: batch frames), or null while disconnected. */
  get version(): RelayVersion | null {
    return this.link?.version ?? null;
  }

  /**
   * Sends a packet to the device with node key `dst`; false if it was dropped (and counted). The
   * packet is copied before this returns. On a version 2 connection, packets to one destination in
   * one turn of the event loop go out as one batch frame at the end of the turn.
   */
  send(dst: Uint8Array, packet: Uint8Array): boolean {
    if (packet.length === 0) throw new RangeError('cannot relay an empty packet');
    const link = this.link;
    if (link === undefined) {
      if (this.held === null) {
        this.counters.dropped.disconnected++;
        return false;
      }
      if (
        this.held.push({ dst: dst.slice(), packet: packet.slice(), at: performance.now() }) >
        FIRST_HOLD_PACKETS
      ) {
        this.held.shift();
        this.counters.dropped.disconnected++;
      }
      return true;
    }
    if (link.socket.writableLength > (this.options.maxQueueBytes ?? 1 << 20)) {
      this.counters.dropped.queueFull++;
      return false;
    }
    const batch = link.batch;
    if (batch !== null && packet.length <= MAX_BATCH_PACKET) {
      if (batch.size > 0 && (!batch.isFor(dst) || !batch.fits(packet))) this.flush(link);
      batch.add(dst, packet);
      this.cork(link);
    } else {
      this.write(link, encodeSend(dst, packet));
    }
    this.counters.sentPackets++;
    return true;
  }

  /** Receives every packet relayed to this device, those of one frame together, all from `src`;
   * the packets are the handler's to keep. */
  onPacket(handler: (src: Uint8Array, packets: Uint8Array[]) => void): void {
    this.packetHandler = handler;
  }

  /** Told when a packet was sent to a key that is not connected to this relay. */
  onPeerGone(handler: (key: Uint8Array) => void): void {
    this.peerGoneHandler = handler;
  }

  /** The relay's explanations, e.g. why it is closing the connection. */
  onHealth(handler: (message: string) => void): void {
    this.healthHandler = handler;
  }

  onConnectionChange(handler: (connected: boolean, reason: string) => void): void {
    this.connectionHandler = handler;
  }

  /** Resolves once connected (at once if already); rejects if the client is closed first. */
  ready(): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error('relay client is closed'));
    if (this.link) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The round-trip time to the relay in ms, for choosing the nearest region. */
  ping(timeoutMs = 5000): Promise<number> {
    const link = this.link;
    if (link === undefined) return Promise.reject(new Error('not connected to the relay'));
    const id = this.nextPingId;
    this.nextPingId = (this.nextPingId + 1) >>> 0;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        reject(new Error(`no pong from the relay within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pings.set(id, { start: performance.now(), resolve, reject, timer });
      this.write(link, encodePing(id));
    });
  }

  stats(): RelayClientStats {
    return structuredClone(this.counters);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.held = null;
    clearTimeout(this.retry);
    this.abort?.('closed');
    for (const w of this.waiters.splice(0)) w.reject(new Error('relay client is closed'));
  }

  private write(link: Link, plain: Uint8Array): void {
    // Behind what is already batched, so that packets keep their order.
    this.flush(link);
    this.cork(link);
    link.socket.write(link.session.sealFrame(plain));
  }

  /** Seals and writes the pending batch, if any. */
  private flush(link: Link): void {
    if (link.batch === null || link.batch.size === 0 || this.link !== link) return;
    link.socket.write(link.session.sealFrame(link.batch.take()));
  }

  // Frames sent in one turn of the event loop (a batch from the datapath) go out in one system
  // call rather than one each, the pending batch with them.
  private cork(link: Link): void {
    if (link.corked) return;
    link.corked = true;
    link.socket.cork();
    process.nextTick(() => {
      this.flush(link);
      link.corked = false;
      link.socket.uncork();
    });
  }

  private connect(): void {
    this.abort = dialRelay(this.options, {
      established: (link, reader, end) => {
        this.established(link);
        return (chunk) => this.receive(link, reader, chunk, end);
      },
      ping: (timeoutMs) => this.ping(timeoutMs),
      ended: (reason) => {
        this.abort = undefined;
        this.lost(reason);
      },
    });
  }

  private established(link: Link): void {
    this.link = link;
    this.counters.connects++;
    const held = this.held ?? [];
    this.held = null;
    const now = performance.now();
    for (const { dst, packet, at } of held) {
      if (now - at <= FIRST_HOLD_MS) this.send(dst, packet);
      else this.counters.dropped.disconnected++;
    }
    this.connectionHandler(true, 'connected');
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private receive(link: Link, reader: FrameReader, chunk: Uint8Array, end: (reason: string) => void): void {
    let sealed: Uint8Array[];
    try {
      sealed = reader.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      end(`bad frame from the relay: ${error.message}`);
      return;
    }
    for (const s of sealed) {
      if (this.link !== link) return;
      const plain = link.session.open(s);
      if (plain === null) {
        end('a frame from the relay failed to authenticate');
        return;
      }
      let frame: RelayFrame;
      try {
        frame = parseRelayFrame(plain, link.version);
      } catch (error) {
        if (!(error instanceof RelayFrameError)) throw error;
        end(error.message);
        return;
      }
      this.dispatch(frame);
    }
  }

  private dispatch(frame: RelayFrame): void {
    switch (frame.type) {
      case 'recv':
        this.counters.receivedPackets++;
        this.packetHandler(frame.src, [frame.packet]);
        return;
      case 'recv-batch':
        this.counters.receivedPackets += frame.packets.length;
        this.packetHandler(frame.src, frame.packets);
        return;
      case 'pong': {
        const ping = this.pings.get(frame.id);
        if (ping === undefined) return;
        this.pings.delete(frame.id);
        clearTimeout(ping.timer);
        ping.resolve(performance.now() - ping.start);
        return;
      }
      case 'peer-gone':
        this.peerGoneHandler(frame.key);
        return;
      case 'health':
        this.healthHandler(frame.message);
    }
  }

  private lost(reason: string): void {
    const link = this.link;
    this.link = undefined;
    if (link) {
      link.session.close();
      if (performance.now() - link.since >= STABLE_MS) this.failures = 0;
      for (const p of this.pings.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`relay connection lost: ${reason}`));
      }
      this.pings.clear();
      this.connectionHandler(false, reason);
    }
    if (this.isClosed) return;
    const min = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 30_000;
    const base = Math.min(max, min * 2 ** Math.min(this.failures, 30));
    this.failures++;
    // Full-range jitter over the upper half: devices cut off together do not reconnect together.
    const r = this.options.random(4);
    const jitter = new DataView(r.buffer, r.byteOffset, 4).getUint32(0) / 2 ** 32;
    this.retry = setTimeout(() => this.connect(), base / 2 + (jitter * base) / 2);
  }
}
