import { type NativeHandle, type NativeUdpStats, native } from '../native/index.js';
import type { Datagram, UdpBind } from './bind.js';

export interface BindOptions {
  /** SO_MARK for every packet sent (burrowd: 0x80000, so that its own traffic bypasses table 52); 0: none. */
  fwmark: number;
  /** SO_RCVBUF and SO_SNDBUF in bytes (SO_*BUFFORCE when privileged); default 4 MiB; 0: the kernel's. */
  bufferSize?: number;
  /** Most datagrams per recvmmsg(2), and so per onDatagrams call, 1 to 1024; default 64. */
  batchSize?: number;
}

export type BindStats = NativeUdpStats;

/**
 * burrowd's UDP bind on Linux: one dual-stack socket (AF_INET6 with IPV6_V6ONLY=0) for IPv4 and IPv6
 * on one port, falling back to IPv4 only where the kernel has no IPv6. IPv4 peers appear as dotted
 * IPv4, not as ::ffff:a.b.c.d. Received with recvmmsg(2), sent with sendmmsg(2).
 */
export class LinuxBind implements UdpBind {
  readonly port: number;
  /** false when the kernel has no IPv6 and the socket is IPv4 only. */
  readonly dualStack: boolean;
  /** SO_RCVBUF / SO_SNDBUF as the kernel reports them (twice what was set: it counts its overhead). */
  readonly receiveBuffer: number;
  readonly sendBuffer: number;
  readonly #handle: NativeHandle;
  #closed = false;
  #reading = false;
  #onDatagrams: ((datagrams: Datagram[]) => void) | undefined;
  #onError: ((error: Error) => void) | undefined;
  #meta = new Uint32Array(256);
  readonly #hostIndex = new Map<string, number>();

  /** Use openBind. */
  constructor(opened: ReturnType<ReturnType<typeof native>['udpOpen']>) {
    this.#handle = opened.handle;
    this.port = opened.port;
    this.dualStack = opened.dualStack;
    this.receiveBuffer = opened.receiveBuffer;
    this.sendBuffer = opened.sendBuffer;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts receiving (or replaces the callback). Each batch's payloads are views into one fresh
   * ArrayBuffer that is never reused: the callback may keep them.
   */
  onDatagrams(callback: (datagrams: Datagram[]) => void): void {
    this.#assertOpen();
    this.#onDatagrams = callback;
    if (this.#reading) return;
    native().udpStart(this.#handle, (buffer, count, hostsOrError) => {
      if (buffer === undefined) {
        this.#fail(hostsOrError instanceof Error ? hostsOrError : new Error('UDP bind: receiving stopped'));
        return;
      }
      this.#onDatagrams?.(splitDatagrams(buffer, count, hostsOrError as string[]));
    });
    this.#reading = true;
  }

  /**
   * Called when receiving fails; receiving has then stopped for good and the bind should be closed.
   * Without it the error is thrown from the event loop.
   */
  onError(callback: (error: Error) => void): void {
    this.#onError = callback;
  }

  /**
   * Sends the datagrams with sendmmsg(2), never blocking; returns how many the kernel took. One the
   * socket has no room for is dropped (stats().sendDropped), one the kernel refuses is counted in
   * sendErrors. Hosts are IP address literals ("192.0.2.1", "2001:db8::1", "fe80::1%eth0"), never
   * names. Invalid input (a host that is not an address, a port outside 1..65535, data that is not a
   * Uint8Array) throws before anything is sent.
   */
  send(datagrams: Datagram[]): number {
    if (!Array.isArray(datagrams)) throw new TypeError('datagrams must be an array');
    this.#assertOpen();
    // Datagrams with a hop limit of their own (rare: hole punches) go in a send of their own.
    const ttl = datagrams.find((d) => d?.ttl !== undefined)?.ttl;
    if (ttl !== undefined) {
      const own = datagrams.filter((d) => d?.ttl === ttl);
      const rest = datagrams.filter((d) => d?.ttl !== ttl);
      return this.#send(own, ttl) + (rest.length > 0 ? this.send(rest) : 0);
    }
    return this.#send(datagrams, undefined);
  }

  #send(datagrams: Datagram[], ttl: number | undefined): number {
    const n = datagrams.length;
    if (n === 0) return 0;
    if (this.#meta.length < n) this.#meta = new Uint32Array(Math.max(n, this.#meta.length * 2));
    const meta = this.#meta;
    const datas: Uint8Array[] = [];
    const hosts: string[] = [];
    const index = this.#hostIndex;
    let lastHost: string | undefined;
    let lastIndex = 0;
    try {
      for (let i = 0; i < n; i++) {
        const d = datagrams[i]!;
        const { data, host, port } = d ?? {};
        if (!(data instanceof Uint8Array)) throw new TypeError(`datagrams[${i}].data is not a Uint8Array`);
        if (typeof host !== 'string') throw new TypeError(`datagrams[${i}].host is not a string`);
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          throw new RangeError(
            `datagrams[${i}].port must be an integer from 1 to 65535, got ${String(port)}`,
          );
        }
        if (host !== lastHost) {
          let at = index.get(host);
          if (at === undefined) {
            at = hosts.length;
            if (at > 0xffff) throw new RangeError('more than 65536 distinct hosts in one send');
            hosts.push(host);
            index.set(host, at);
          }
          lastHost = host;
          lastIndex = at;
        }
        datas.push(data);
        meta[i] = port | (lastIndex << 16);
      }
    } finally {
      index.clear();
    }
    return ttl === undefined
      ? native().udpSend(this.#handle, datas, meta, hosts)
      : native().udpSend(this.#handle, datas, meta, hosts, ttl);
  }

  stats(): BindStats {
    return native().udpStats(this.#handle);
  }

  /**
   * Marks every packet sent from now on with `fwmark` (SO_MARK; 0: none), on this socket and port:
   * what `wg set IFACE fwmark N` asks, and what wg-quick's full tunnel relies on.
   */
  setMark(fwmark: number): void {
    this.#assertOpen();
    native().udpSetMark(this.#handle, fwmark);
  }

  /** The addon's handle, for the fast path's engine (helper/fastpath), which reads it while attached. */
  nativeHandle(): NativeHandle {
    this.#assertOpen();
    return this.#handle;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reading = false;
    native().udpClose(this.#handle);
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`UDP bind on port ${this.port} is closed`);
  }

  #fail(error: Error): void {
    if (!this.#onError) throw error;
    this.#onError(error);
  }
}

/** The datagrams of a native batch: payloads back to back, then [length, port | host << 16] pairs. */
function splitDatagrams(buffer: ArrayBuffer, count: number, hosts: string[]): Datagram[] {
  const table = new Uint32Array(buffer, buffer.byteLength - 8 * count, 2 * count);
  const datagrams: Datagram[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = table[2 * i]!;
    const meta = table[2 * i + 1]!;
    datagrams.push({
      data: new Uint8Array(buffer, offset, length),
      host: hosts[meta >>> 16]!,
      port: meta & 0xffff,
    });
    offset += length;
  }
  return datagrams;
}

/**
 * Opens burrowd's UDP bind on `port` (0: the kernel picks; see `.port`) for IPv4 and IPv6, marked
 * with options.fwmark. Setting a mark needs CAP_NET_ADMIN (or CAP_NET_RAW on Linux 5.17+). Synchronous: the socket is bound on return.
 */
export function openBind(port: number, options: BindOptions): LinuxBind {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const { fwmark, bufferSize = 4 << 20, batchSize = 64 } = options;
  if (!Number.isInteger(fwmark) || fwmark < 0 || fwmark > 0xffffffff) {
    throw new RangeError(`fwmark must be an integer from 0 to 0xffffffff, got ${String(fwmark)}`);
  }
  if (!Number.isInteger(bufferSize) || bufferSize < 0 || bufferSize > 1 << 30) {
    throw new RangeError(`bufferSize must be an integer from 0 to 1 GiB, got ${String(bufferSize)}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1024) {
    throw new RangeError(`batchSize must be an integer from 1 to 1024, got ${String(batchSize)}`);
  }
  return new LinuxBind(native().udpOpen(port, fwmark, bufferSize, batchSize));
}

/**
 * A bind on one local address only (`address`, an IPv4 or IPv6 literal), unmarked: a listener, like
 * burrowd's resolver on 100.100.100.100 port 53, that must leave the port on the host's other
 * addresses alone. Undefined when the addon is older than this call (a stale build/: `./scripts/setup`
 * rebuilds it). Synchronous: the socket is bound on return; throws if it cannot be (EADDRINUSE, ...).
 */
export function openBindAt(
  address: string,
  port: number,
  options: Omit<BindOptions, 'fwmark'> = {},
): LinuxBind | undefined {
  const addon = native();
  if (addon.udpOpenAt === undefined) return undefined;
  const { bufferSize = 0, batchSize = 64 } = options;
  return new LinuxBind(addon.udpOpenAt(address, port, bufferSize, batchSize));
}
