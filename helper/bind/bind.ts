import type { Endpoint } from '../../src/wireguard/actions.js';

/** Where a datagram really came from: an address, over UDP, or a relay region (by its name). */
export type Origin = Endpoint | { readonly relay: string };

/** One datagram with its remote address. */
export interface Datagram {
  data: Uint8Array;
  host: string;
  port: number;
  /**
   * Where it really came from, when `host` and `port` are made up: the mesh conn hands WireGuard
   * every peer's datagrams at one fixed endpoint, whichever way they came. Unset, they are real.
   */
  origin?: Origin;
  /**
   * The hop limit to send it with (unset: the system's). A hole punch sends with a low one, so that
   * it opens our own NAT toward the peer without reaching the peer's (helper/paths/path-conn.ts).
   */
  ttl?: number;
}

/**
 * burrowd's UDP sockets (IPv4 and IPv6 on one port), like wireguard-go's conn.Bind: datagrams in and
 * out in batches. The Linux implementation marks its sockets with SO_MARK so that its own traffic
 * bypasses table 52 and never loops into the tunnel.
 */
export interface UdpBind {
  /** The local port, chosen by the kernel if 0 was asked for. */
  readonly port: number;
  onDatagrams(callback: (datagrams: Datagram[]) => void): void;
  /** Sends datagrams; a datagram that cannot be sent now is dropped, as a network would. */
  send(datagrams: Datagram[]): void;
  close(): void;
}
