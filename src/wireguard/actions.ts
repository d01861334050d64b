import type { Peer } from './peer.js';

/** Where a datagram came from or goes to. The core treats it as opaque apart from `host` (rate
 * limiting per source address) and the two together (cookies bind to address and port). */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export function endpointText(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** What the core asks its driver to do. The core itself performs no I/O. */
export type Action =
  /** Send `data` as one UDP datagram to `endpoint`. `peer` is null for cookie replies to strangers. */
  | { kind: 'send'; peer: Peer | null; endpoint: Endpoint; data: Uint8Array }
  /** Hand a decrypted, authenticated and source-checked IP packet to the tunnel interface. */
  | { kind: 'deliver'; peer: Peer; packet: Uint8Array };
