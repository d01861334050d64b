/**
 * The port mapper's socket to the gateway: it sends the requests (marked past burrowd's own routes
 * when given a mark) and hands each answer from the gateway to the exchanges waiting for one.
 * Answers from any other address are counted as `wrong-source` and dropped. Also the socket where
 * the gateway announces its restarts.
 */

import { createSocket, type Socket } from 'node:dgram';
import { openBind } from '../bind/linux-bind.js';
import type { Gateway } from './gateway.js';

/** Where NAT-PMP and PCP gateways announce a restart: all hosts, port 5350. */
const NATPMP_ANNOUNCE_PORT = 5350;
const ALL_HOSTS = '224.0.0.1';

/** Looks at one answer (its source port and bytes); true once its exchange is done. */
export type Waiter = (from: number, bytes: Uint8Array) => boolean;

export interface GatewaySocketOptions {
  /** The gateway asked: requests go to it, and only its answers are taken. */
  gateway: () => Gateway | null;
  /** SO_MARK for the requests; none without it (see PortMapperOptions.fwmark). */
  fwmark?: number;
  /** An answer came from another address than the gateway. */
  wrongSource(): void;
  log(message: string): void;
}

export class GatewaySocket {
  private socket: { send(bytes: Uint8Array, port: number, host: string): void; close(): void } | null = null;
  private waiters = new Set<Waiter>();

  constructor(private readonly options: GatewaySocketOptions) {}

  get isOpen(): boolean {
    return this.socket !== null;
  }

  async open(): Promise<void> {
    if (this.socket !== null) return;
    const received = (bytes: Uint8Array, address: string, port: number) => {
      const gateway = this.options.gateway();
      if (gateway === null || address !== gateway.gateway) {
        this.options.wrongSource();
        return;
      }
      for (const waiter of this.waiters) if (waiter(port, bytes)) this.waiters.delete(waiter);
    };
    const { fwmark } = this.options;
    if (fwmark !== undefined && fwmark !== 0) {
      // node:dgram cannot mark its packets; the addon's socket can.
      const bind = openBind(0, { fwmark, bufferSize: 0, batchSize: 8 });
      bind.onDatagrams((datagrams) => {
        for (const d of datagrams) received(d.data.slice(), d.host, d.port);
      });
      this.socket = {
        send: (data, port, host) => bind.send([{ data, host, port }]),
        close: () => bind.close(),
      };
    } else {
      const socket = createSocket('udp4');
      socket.on('message', (bytes, rinfo) => received(new Uint8Array(bytes), rinfo.address, rinfo.port));
      socket.on('error', (e) => this.options.log(`portmap: socket: ${e.message}`));
      await new Promise<void>((resolve) => socket.bind(0, resolve));
      socket.unref();
      this.socket = {
        send: (data, port, host) => socket.send(data, port, host, () => {}),
        close: () => socket.close(),
      };
    }
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }

  send(bytes: Uint8Array, port: number): void {
    const gateway = this.options.gateway();
    if (this.socket === null || gateway === null) return;
    this.socket.send(bytes, port, gateway.gateway);
  }

  /** Sends now and after each of `resends` ms, until `take` says done or `timeoutMs` passes. */
  exchange(send: () => void, resends: number[], timeoutMs: number, take: Waiter): Promise<void> {
    return new Promise((resolve) => {
      const timers: ReturnType<typeof setTimeout>[] = [];
      const finish = () => {
        for (const t of timers) clearTimeout(t);
        this.waiters.delete(waiter);
        resolve();
      };
      const waiter: Waiter = (from, bytes) => {
        const done = take(from, bytes);
        if (done) setImmediate(finish);
        return done;
      };
      this.waiters.add(waiter);
      send();
      for (const ms of resends) timers.push(setTimeout(send, ms));
      timers.push(setTimeout(finish, timeoutMs));
    });
  }
}

/**
 * Listens for the gateway's restart notices on `port` (default 5350), joined to 224.0.0.1; null if
 * the port is taken (logged).
 */
export async function openAnnounceSocket(
  port: number | undefined,
  onMessage: (bytes: Buffer, address: string) => void,
  log: (message: string) => void,
): Promise<Socket | null> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  socket.on('message', (bytes, rinfo) => onMessage(bytes, rinfo.address));
  const bound = await new Promise<boolean>((resolve) => {
    socket.once('error', (e) => {
      log(`portmap: not listening for gateway restarts: ${e.message}`);
      resolve(false);
    });
    socket.bind(port ?? NATPMP_ANNOUNCE_PORT, () => resolve(true));
  });
  if (!bound) {
    socket.close();
    return null;
  }
  try {
    socket.addMembership(ALL_HOSTS);
  } catch {
    // No multicast route (a test on loopback): unicast notices still come.
  }
  socket.unref();
  return socket;
}
