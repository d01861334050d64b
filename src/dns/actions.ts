import type { Transport } from './answer-size.js';
import type { DnsRefusal } from './refusals.js';
import type { Upstream } from './table.js';

/**
 * What the resolver asks its driver to do; the resolver itself performs no I/O. `S` is whatever the
 * driver uses to tell askers apart (a UDP address, a TCP connection): the core only hands it back.
 */
export type DnsAction<S> =
  /** Send `bytes` to the asker, over the transport the query came by (TCP: framed). */
  | { kind: 'answer'; to: S; transport: Transport; bytes: Uint8Array }
  /** Send the query `bytes` to `upstream` over `transport`; its reply goes to `reply()`. */
  | { kind: 'forward'; upstream: Upstream; transport: Transport; bytes: Uint8Array }
  /** Nothing to send; the message was counted under `reason`. */
  | { kind: 'drop'; reason: DnsRefusal };
