/**
 * The UDP sockets forwarded queries leave by. An off-path attacker who wants to slip a forged
 * answer in must match the query's random id (the core's) and the port it left from (RFC 5452 §9):
 * so the port changes too. Each family's socket serves a few queries, or a few seconds, then a new
 * one (on a port the kernel picks at random) takes over; the old one stays open as long as an
 * upstream gets to answer, so late answers still arrive, then closes.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { ATTEMPT_TIMEOUT_MS } from '../../src/dns/forwarder.js';
import type { Upstream } from '../../src/dns/table.js';

/** Queries a socket sends before it is replaced. */
export const QUERIES_PER_PORT = 64;
/** How long a socket sends before it is replaced, however few queries it sent. */
const PORT_LIFETIME_MS = 5_000;

interface Current {
  socket: UdpSocket;
  sent: number;
  since: number;
}

export class UpstreamSockets {
  private readonly current = new Map<4 | 6, Current>();
  private readonly retired = new Set<UdpSocket>();
  private closed = false;

  constructor(
    private readonly onReply: (bytes: Uint8Array, host: string, port: number) => void,
    private readonly log: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  send(upstream: Upstream, bytes: Uint8Array): void {
    if (this.closed) return;
    // Upstreams are address literals (table.ts): a colon is IPv6.
    const socket = this.socketFor(upstream.host.includes(':') ? 6 : 4);
    socket.send(bytes, upstream.port, upstream.host, (error) => {
      // An unreachable server is the core's to handle: its deadline passes and the next is asked.
      if (error) this.log(`dns: to ${upstream.host}: ${error.message}`);
    });
  }

  close(): void {
    this.closed = true;
    for (const { socket } of this.current.values()) socket.close();
    for (const socket of this.retired) socket.close();
    this.current.clear();
    this.retired.clear();
  }

  private socketFor(family: 4 | 6): UdpSocket {
    const now = this.now();
    let current = this.current.get(family);
    if (current && (current.sent >= QUERIES_PER_PORT || now - current.since >= PORT_LIFETIME_MS)) {
      this.retire(current.socket);
      current = undefined;
    }
    if (current === undefined) {
      const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      socket.on('message', (reply, from) => this.onReply(reply, from.address, from.port));
      socket.on('error', (error) => this.log(`dns: forwarding socket: ${error.message}`));
      current = { socket, sent: 0, since: now };
      this.current.set(family, current);
    }
    current.sent++;
    return current.socket;
  }

  private retire(socket: UdpSocket): void {
    this.retired.add(socket);
    // Answers to its queries may come until their attempts time out (a little margin besides).
    setTimeout(() => {
      if (!this.retired.delete(socket)) return;
      socket.close();
    }, ATTEMPT_TIMEOUT_MS + 500).unref();
  }
}
