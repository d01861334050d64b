/**
 * burrowd's resolver on its sockets: UDP and TCP port 53 on each of its listening addresses, and
 * the sockets it forwards through, driving the I/O-free core (src/dns/resolver.ts): a query's
 * bytes go in, and the core's actions (answer, forward, drop) are carried out here.
 *
 * Only this host's programs may ask. The listening addresses live on the Burrow interface, and
 * the kernel delivers to a local address whatever interface a packet came in on, so a LAN host
 * that routes 100.100.100.100 to us reaches the socket: every query whose source is not one of
 * this host's own addresses is dropped unanswered (and counted), and a TCP connection from one
 * is closed at once. A LAN host cannot pass for us either: Linux drops packets arriving from
 * outside with one of its own addresses as their source (accept_local is off), and even a
 * spoofed query's answer would go to us, not to the spoofer.
 *
 * Forwarded queries leave through ordinary sockets, routed like any program's (a name server
 * behind a subnet router is reached through the tunnel), from ports that keep changing
 * (upstream-sockets.ts). A query that came over TCP is forwarded over TCP, so the whole answer
 * comes back.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { DnsAction } from '../../src/dns/actions.js';
import { MAX_QUERY } from '../../src/dns/query.js';
import type { DnsResolver } from '../../src/dns/resolver.js';
import type { Upstream } from '../../src/dns/table.js';
import { frameForTcp, TcpFramer, TcpFramingError } from '../../src/dns/tcp-framing.js';
import { formatAddr, parseCidr } from '../../src/packet/ip-text.js';
import { openUdpListener, type UdpListener, type UdpReplier } from './udp-listener.js';
import { UpstreamSockets } from './upstream-sockets.js';

/** Who asked: a UDP client, a TCP connection, or burrowd itself (`burrow dns query`). */
export type Asker =
  | { kind: 'udp'; socket: UdpReplier; address: string; port: number }
  | { kind: 'tcp'; socket: Socket }
  | { kind: 'local'; done: (bytes: Uint8Array) => void };

/** TCP clients at once; more are closed as they connect (RFC 7766 lets a server limit them). */
const MAX_TCP_CLIENTS = 64;
/** An idle TCP client is closed after this (RFC 7766 §6.2.3 suggests seconds). */
const TCP_IDLE_MS = 10_000;
/**
 * Answers a TCP client may leave unread: one that keeps asking without reading would otherwise
 * make burrowd buffer without end. Past it the connection is closed.
 */
const MAX_TCP_UNREAD = 256 * 1024;
/** A forwarded TCP query's connection gives up after this (the core has long answered SERVFAIL). */
const UPSTREAM_TCP_MS = 5_000;

export interface ServiceCounters {
  /** Queries taken from this host's programs, by transport. */
  udp: number;
  tcp: number;
  /** Queries, and TCP connections, from an address that is not this host's: dropped. */
  notLocal: number;
  /** TCP connections closed because MAX_TCP_CLIENTS were open. */
  tcpBusy: number;
  /** Queries sent upstream (re-sends included). */
  forwarded: number;
}

export interface ResolverServiceOptions {
  /** Milliseconds on a clock that only goes forward (the core's deadlines are on it). */
  now: () => number;
  log: (message: string) => void;
  /** Whether a query from `address` comes from this host; by default its interfaces' addresses. */
  isLocal?: (address: string) => boolean;
  port?: number;
  /** Listen with node:dgram instead of the addon's batched sockets (udp-listener.ts). */
  dgram?: boolean;
}

interface Listener {
  udp: UdpListener;
  tcp: Server;
}

export class ResolverService {
  readonly counters: ServiceCounters = { udp: 0, tcp: 0, notLocal: 0, tcpBusy: 0, forwarded: 0 };
  private readonly listeners = new Map<string, Listener>();
  private readonly upstream: UpstreamSockets;
  private readonly tcpClients = new Set<Socket>();
  private readonly isLocal: (address: string) => boolean;
  private readonly port: number;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly resolver: DnsResolver<Asker>,
    private readonly options: ResolverServiceOptions,
  ) {
    this.isLocal = options.isLocal ?? localAddresses();
    this.port = options.port ?? 53;
    this.upstream = new UpstreamSockets((bytes, host, port) => this.onReply(bytes, host, port), options.log);
  }

  /** The addresses it listens on now. */
  get addresses(): string[] {
    return [...this.listeners.keys()];
  }

  /**
   * Listens on exactly `addresses` (each must be on an interface): new ones are opened, gone ones
   * closed. Rejects if one cannot be opened; the others stay as they are.
   */
  async listen(addresses: readonly string[]): Promise<void> {
    for (const [address, listener] of this.listeners) {
      if (addresses.includes(address)) continue;
      this.listeners.delete(address);
      closeListener(listener);
    }
    for (const address of addresses) {
      if (this.listeners.has(address)) continue;
      this.listeners.set(address, await this.open(address));
    }
  }

  /**
   * Asks the resolver `query` as a program on this host would, over TCP so that the answer is
   * whole; resolves with the answer's bytes (a forwarded name once its upstream answers, or the
   * SERVFAIL the core gives up with).
   */
  ask(query: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve) => {
      this.perform(this.resolver.query(query, { kind: 'local', done: resolve }, 'tcp', this.options.now()));
    });
  }

  close(): void {
    this.closed = true;
    for (const listener of this.listeners.values()) closeListener(listener);
    this.listeners.clear();
    this.upstream.close();
    for (const socket of this.tcpClients) socket.destroy();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async open(address: string): Promise<Listener> {
    let udp: UdpListener;
    try {
      udp = await openUdpListener(
        address,
        this.port,
        (bytes, from, port, replier) => this.onDatagram(replier, bytes, from, port),
        (error) => this.options.log(`dns: udp ${address}: ${error.message}`),
        { dgram: this.options.dgram },
      );
    } catch (error) {
      throw new Error(`cannot listen on ${address} port ${this.port}: ${(error as Error).message}`);
    }
    const tcp = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    tcp.on('error', (error) => this.options.log(`dns: tcp ${address}: ${error.message}`));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: address, port: this.port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      closeListener({ udp, tcp });
      throw new Error(`cannot listen on ${address} port ${this.port}: ${(error as Error).message}`);
    }
    return { udp, tcp };
  }

  private onDatagram(socket: UdpReplier, bytes: Uint8Array, address: string, port: number): void {
    if (!this.isLocal(address)) {
      this.counters.notLocal++;
      return;
    }
    this.counters.udp++;
    const asker: Asker = { kind: 'udp', socket, address, port };
    this.perform(this.resolver.query(bytes, asker, 'udp', this.options.now()));
  }

  private onConnection(socket: Socket): void {
    if (!this.isLocal(socket.remoteAddress ?? '')) {
      this.counters.notLocal++;
      socket.destroy();
      return;
    }
    if (this.tcpClients.size >= MAX_TCP_CLIENTS) {
      this.counters.tcpBusy++;
      socket.destroy();
      return;
    }
    this.tcpClients.add(socket);
    socket.on('close', () => this.tcpClients.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    const framer = new TcpFramer(MAX_QUERY);
    const asker: Asker = { kind: 'tcp', socket };
    socket.on('data', (chunk) => {
      let messages: Uint8Array[];
      try {
        messages = framer.push(chunk);
      } catch (error) {
        if (!(error instanceof TcpFramingError)) throw error;
        this.resolver.countFraming(error.fault);
        socket.destroy();
        return;
      }
      for (const message of messages) {
        this.counters.tcp++;
        this.perform(this.resolver.query(message, asker, 'tcp', this.options.now()));
      }
    });
  }

  private perform(action: DnsAction<Asker>): void {
    if (this.closed) return;
    switch (action.kind) {
      case 'answer': {
        const to = action.to;
        if (to.kind === 'udp') to.socket.send(action.bytes, to.port, to.address);
        else if (to.kind === 'tcp') {
          if (to.socket.destroyed) break;
          if (to.socket.writableLength > MAX_TCP_UNREAD) to.socket.destroy();
          else to.socket.write(frameForTcp(action.bytes));
        } else to.done(action.bytes);
        break;
      }
      case 'forward':
        this.counters.forwarded++;
        if (action.transport === 'udp') this.upstream.send(action.upstream, action.bytes);
        else this.askOverTcp(action.upstream, action.bytes);
        this.schedule();
        break;
      case 'drop':
        break;
    }
  }

  /** One query over a fresh TCP connection to the upstream; its one answer goes to the core. */
  private askOverTcp(upstream: Upstream, bytes: Uint8Array): void {
    const socket = tcpConnect({ host: upstream.host, port: upstream.port, noDelay: true });
    const framer = new TcpFramer();
    socket.setTimeout(UPSTREAM_TCP_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('connect', () => socket.write(frameForTcp(bytes)));
    socket.on('data', (chunk) => {
      try {
        const [reply] = framer.push(chunk);
        if (reply === undefined) return;
        socket.end();
        this.onReply(reply, upstream.host, upstream.port);
      } catch {
        socket.destroy();
      }
    });
  }

  private onReply(bytes: Uint8Array, host: string, port: number): void {
    if (this.closed) return;
    this.perform(this.resolver.reply(bytes, { host: canonical(host), port }, this.options.now()));
    this.schedule();
  }

  /**
   * Keeps a timer due no later than the core's next deadline (a forwarded query's timeout). One due
   * earlier is kept: it finds nothing to do and sets the next, a wake-up per timeout instead of a
   * clearTimeout and setTimeout for each answer from upstream (deadlines only grow, so the first
   * outstanding query's moves later with nearly every answer).
   */
  private schedule(): void {
    const at = this.resolver.nextDeadline();
    if (at >= this.timerAt || this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Number.POSITIVE_INFINITY;
        for (const action of this.resolver.tick(this.options.now())) this.perform(action);
        this.schedule();
      },
      Math.max(0, at - this.options.now()),
    );
    this.timer.unref();
  }
}

function closeListener({ udp, tcp }: Listener): void {
  udp.close();
  tcp.close();
}

/** An address as the core spells upstreams (RFC 5952), whatever the socket reported. */
function canonical(address: string): string {
  // Sockets report IPv4 as dotted decimal already: only IPv6 text has spellings to settle.
  if (!address.includes(':')) return address;
  try {
    return formatAddr(parseCidr(address).addr);
  } catch {
    return address;
  }
}

/**
 * Whether an address is this host's: loopback, or on one of its interfaces. The interfaces are
 * read again (at most once a second) when an address is not among those last read, so a new
 * address is known at once and a flood from outside costs one read a second.
 */
export function localAddresses(
  read: () => string[] = interfaceAddresses,
  now: () => number = Date.now,
): (address: string) => boolean {
  let known = new Set(read());
  let readAt = now();
  return (address) => {
    const bare = address.startsWith('::ffff:') ? address.slice(7) : address;
    if (bare.startsWith('127.') || bare === '::1' || known.has(bare)) return true;
    if (now() - readAt < 1000) return false;
    known = new Set(read());
    readAt = now();
    return known.has(bare);
  };
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}
