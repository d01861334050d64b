import { echoReply, echoRequest } from '../../src/packet/icmp-echo.js';
import type { Origin } from '../bind/bind.js';
import type { InboundTap } from './mesh-filter.js';

/** A reply: its round trip, and which way it came (see Datagram.origin). */
export interface Pong {
  ms: number;
  origin: Origin;
}

interface Pending {
  sentAt: number;
  resolve: (pong: Pong | null) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * burrowd's own ping (`burrow ping PEER`): an ICMP echo request from our tunnel address to the
 * peer's, sent into WireGuard as if the kernel had sent it; the peer's kernel answers, and the reply
 * is taken out of the tunnel here before our kernel sees it. It measures the whole path, the peer's
 * packet filter included, with no help from the peer's burrowd.
 */
export class Pinger implements InboundTap {
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 1;
  // One id per burrowd, unlikely to collide with the kernel's own ping sockets.
  private readonly id = (process.pid ^ 0xb0b) & 0xffff;

  constructor(
    private readonly inject: (packet: Uint8Array) => void,
    private readonly clock: () => number,
  ) {}

  /** Resolves with the reply, or null after `timeoutMs` without one. */
  ping(src: string, dst: string, timeoutMs: number): Promise<Pong | null> {
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq % 0xffff) + 1;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        resolve(null);
      }, timeoutMs);
      this.pending.set(seq, { sentAt: this.clock(), resolve, timer });
      this.inject(echoRequest(src, dst, this.id, seq, new TextEncoder().encode('burrow ping')));
    });
  }

  /** Takes a reply to one of our pings, which came from `origin`, out of the tunnel: true when `packet` was one. */
  consume(packet: Uint8Array, _peer: unknown, origin: Origin): boolean {
    if (this.pending.size === 0) return false;
    const reply = echoReply(packet);
    if (reply === null || reply.id !== this.id) return false;
    const p = this.pending.get(reply.seq);
    if (p === undefined) return false;
    this.pending.delete(reply.seq);
    clearTimeout(p.timer);
    p.resolve({ ms: this.clock() - p.sentAt, origin });
    return true;
  }

  cancelAll(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(null);
    }
    this.pending.clear();
  }
}
