/** One datagram with its remote address. */
export interface Datagram {
  data: Uint8Array;
  host: string;
  port: number;
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
