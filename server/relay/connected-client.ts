import type { Socket } from 'node:net';
import { FrameError, FrameReader } from '../../src/control/framing.js';
import type { ControlSession } from '../../src/control/noise-session.js';
import {
  type ClientFrame,
  encodeHealth,
  encodePong,
  MAX_SEALED_RELAY_FRAME,
  parseClientFrame,
  RelayFrameError,
  type RelayVersion,
} from '../../src/relay/frames.js';
import { TokenBucket } from '../../src/relay/token-bucket.js';
import type { RelayLimits } from './relay-limits.js';
import type { CloseReason, RelayCounters } from './relay-stats.js';

/** What a client needs from the relay it is connected to. */
export interface ClientHooks {
  /**
   * A send or send-batch from this client, whose source is this client's authenticated key.
   * `plain` is the frame's decrypted bytes, the hook's to keep or rewrite (see stampSource).
   */
  send(from: ConnectedClient, frame: SendFrame, plain: Uint8Array): void;
  closed(client: ConnectedClient): void;
}

export type SendFrame = Extract<ClientFrame, { type: 'send' | 'send-batch' }>;

// After the relay ends its side, how long the client gets to end its own before the socket is
// destroyed (upgraded sockets are half-open, and a client may never answer).
const LINGER_MS = 1000;

/**
 * One authenticated device on the relay: reads its sealed frames within its rate limits, answers
 * pings, hands sends to the relay, and writes frames to it without ever buffering past the queue
 * bound. Anything malformed closes this client only.
 */
export class ConnectedClient {
  private readonly reader = new FrameReader(MAX_SEALED_RELAY_FRAME);
  private readonly bytes: TokenBucket;
  private readonly frames: TokenBucket;
  // Frames read but not yet handled because the client is over its rate: at most what one read
  // returned, since the socket is paused until they are handled.
  private pending: Uint8Array[] = [];
  private throttle: ReturnType<typeof setTimeout> | undefined;
  private isClosed = false;
  private corked = false;

  constructor(
    /** The node key the client proved it holds. */
    readonly key: Uint8Array,
    /** The key as the registry's map key. */
    readonly id: string,
    /** The protocol version the hellos agreed on: 2 may carry batch frames both ways. */
    readonly version: RelayVersion,
    private readonly socket: Socket,
    private readonly session: ControlSession,
    private readonly limits: RelayLimits,
    private readonly counters: RelayCounters,
    private readonly hooks: ClientHooks,
  ) {
    const now = performance.now();
    this.bytes = new TokenBucket(limits.bytesPerSecond, limits.byteBurst, now);
    this.frames = new TokenBucket(limits.packetsPerSecond, limits.packetBurst, now);
    socket.setTimeout(limits.idleTimeoutMs, () => this.close('idle', 'closing: idle timeout'));
    socket.on('close', () => this.close('disconnected'));
    socket.on('end', () => this.close('disconnected'));
  }

  /** Feeds bytes that arrived on the socket. */
  receive(chunk: Uint8Array): void {
    if (this.isClosed) return;
    let frames: Uint8Array[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.close('oversize', `closing: frame exceeds ${MAX_SEALED_RELAY_FRAME} bytes`);
      return;
    }
    if (frames.length === 0) return;
    this.pending = this.pending.length === 0 ? frames : this.pending.concat(frames);
    if (this.throttle === undefined) this.drain();
  }

  /**
   * Writes a frame to this client unless its unsent bytes already exceed the queue bound. Returns
   * whether it was written; a dropped packet is the sender's loss, as on any congested link.
   */
  deliver(plain: Uint8Array): boolean {
    if (this.isClosed || this.socket.writableLength > this.limits.maxQueueBytes) return false;
    // Frames forwarded while handling one read go out in one system call rather than one each.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(this.session.sealFrame(plain));
    return true;
  }

  get queuedBytes(): number {
    return this.isClosed ? 0 : this.socket.writableLength;
  }

  /** Ends the connection, telling the client why if `message` is given. */
  close(reason: CloseReason, message?: string): void {
    if (this.isClosed) return;
    if (message !== undefined && this.socket.writable) this.deliver(encodeHealth(message));
    this.isClosed = true;
    this.counters.closed[reason]++;
    clearTimeout(this.throttle);
    this.pending = [];
    this.session.close();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
    this.hooks.closed(this);
  }

  // Handles pending frames in order while the rates allow; otherwise pauses the socket until they
  // do. Rates are charged before decryption, so a flood costs no crypto work: each frame counts as
  // one packet then, and a batch's further packets once it is opened (leaving the bucket in debt,
  // which the next frame waits for), so that the packet rate counts WireGuard packets either way.
  private drain(): void {
    let i = 0;
    while (i < this.pending.length && !this.isClosed) {
      const frame = this.pending[i]!;
      const now = performance.now();
      const wait = Math.max(this.bytes.wait(frame.length, now), this.frames.wait(1, now));
      if (wait > 0) {
        this.counters.rateLimited++;
        this.pending = this.pending.slice(i);
        this.socket.pause();
        this.throttle = setTimeout(() => {
          this.throttle = undefined;
          this.drain();
          if (this.throttle === undefined && !this.isClosed) this.socket.resume();
        }, Math.ceil(wait));
        return;
      }
      this.bytes.spend(frame.length);
      this.frames.spend(1);
      i++;
      this.frames.spend(this.handle(frame) - 1);
    }
    this.pending = [];
  }

  /** Handles one sealed frame; returns how many packets it carried (1 for anything but a batch). */
  private handle(sealed: Uint8Array): number {
    const plain = this.session.open(sealed);
    if (plain === null) {
      this.close('undecryptable');
      return 1;
    }
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(plain, this.version);
    } catch (error) {
      if (!(error instanceof RelayFrameError)) throw error;
      this.close('malformed', `closing: ${error.message}`);
      return 1;
    }
    if (frame.type === 'ping') {
      this.deliver(encodePong(frame.id));
      return 1;
    }
    this.hooks.send(this, frame, plain);
    return frame.type === 'send-batch' ? frame.packets.length : 1;
  }
}
