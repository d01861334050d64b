/**
 * burrowd's STUN client: learns the device's server-reflexive endpoint, the public address and
 * port its NAT maps the WireGuard socket to, which is the endpoint peers must send to.
 *
 * The requests go out through the WireGuard socket itself (a mapping for any other socket would be
 * another mapping), so the client owns no socket: it is handed a send function, and is fed the
 * STUN datagrams that arrive there (`isStunPacket` tells them from WireGuard's). Timers and random
 * bytes are injected too, so tests can run it on a fake clock.
 *
 * Retransmission follows RFC 5389 §7.2.1: the request is sent again after an RTO that doubles each
 * time (250 ms, 500 ms, 1 s, ...), up to a number of transmissions, and the binding gives up at a
 * total timeout. Responses are matched by transaction id alone: 96 random bits an off-path host
 * cannot guess, and a NAT may legitimately change the address an answer seems to come from.
 */

import { bytesToHex } from '@noble/hashes/utils.js';
import { randomBytes as cryptoRandomBytes } from '../../src/crypto/index.js';
import type { StunEndpoint } from '../../src/stun/address.js';
import { buildBindingRequest, readBindingResponse } from '../../src/stun/binding.js';
import { TRANSACTION_ID_LENGTH } from '../../src/stun/message.js';

/** Runs `callback` after `ms` milliseconds; the returned function cancels it. */
export type Schedule = (callback: () => void, ms: number) => () => void;

export interface StunClientOptions {
  /** Sends a datagram from the WireGuard socket. A throw counts as a lost datagram. */
  send(datagram: Uint8Array, host: string, port: number): void;
  /** Default: setTimeout. */
  schedule?: Schedule;
  /** Default: the platform's CSPRNG. */
  randomBytes?: (n: number) => Uint8Array;
  /** SOFTWARE attribute for requests; none by default. */
  software?: string;
}

export interface BindingOptions {
  /** First retransmission timeout, doubling after each; default 250 ms. */
  rtoMs?: number;
  /** Requests sent in all, the first included; default 5 (at 0, 250, 750, 1750 and 3750 ms). */
  maxTransmissions?: number;
  /** When to give up and resolve null, from the first send; default 5000 ms. */
  timeoutMs?: number;
}

interface Pending {
  finish(mapped: StunEndpoint | null): void;
}

const realSchedule: Schedule = (callback, ms) => {
  const timer = setTimeout(callback, ms);
  return () => clearTimeout(timer);
};

export class StunClient {
  private readonly send: StunClientOptions['send'];
  private readonly schedule: Schedule;
  private readonly randomBytes: (n: number) => Uint8Array;
  private readonly software: string | undefined;
  // Keyed by the transaction id in hex.
  private readonly pending = new Map<string, Pending>();

  constructor(options: StunClientOptions) {
    this.send = options.send;
    this.schedule = options.schedule ?? realSchedule;
    this.randomBytes = options.randomBytes ?? cryptoRandomBytes;
    this.software = options.software;
  }

  /**
   * Asks `server` (an IP address, not a name) for this socket's mapped endpoint. Resolves null on
   * timeout, on an error response, or if the client is closed first. Throws RangeError on bad options.
   */
  requestBinding(server: StunEndpoint, options: BindingOptions = {}): Promise<StunEndpoint | null> {
    const { rtoMs = 250, maxTransmissions = 5, timeoutMs = 5000 } = options;
    for (const [name, value] of Object.entries({ rtoMs, maxTransmissions, timeoutMs })) {
      if (!(Number.isFinite(value) && value > 0))
        throw new RangeError(`${name} must be positive, got ${value}`);
    }
    const transactionId = this.randomBytes(TRANSACTION_ID_LENGTH);
    const request = buildBindingRequest(transactionId, this.software);
    const key = bytesToHex(transactionId);

    return new Promise((resolve) => {
      let done = false;
      let sent = 0;
      let rto = rtoMs;
      let cancelRetransmit = () => {};
      const transmit = () => {
        sent++;
        try {
          this.send(request, server.host, server.port);
        } catch {
          // As a network would drop it: the retransmission covers it.
        }
        // A send may deliver the answer at once (on a loopback, or in a test).
        if (!done && sent < maxTransmissions) {
          cancelRetransmit = this.schedule(transmit, rto);
          rto *= 2;
        }
      };
      const cancelDeadline = this.schedule(() => this.pending.get(key)?.finish(null), timeoutMs);
      this.pending.set(key, {
        finish: (mapped) => {
          done = true;
          this.pending.delete(key);
          cancelRetransmit();
          cancelDeadline();
          resolve(mapped);
        },
      });
      transmit();
    });
  }

  /**
   * Takes a STUN datagram that arrived on the socket. Returns whether it settled a pending
   * binding: false for a stray, a duplicate or a malformed one, which are simply dropped.
   */
  receive(datagram: Uint8Array): boolean {
    const response = readBindingResponse(datagram);
    if (response.kind === 'refused') return false;
    const pending = this.pending.get(bytesToHex(response.transactionId));
    if (pending === undefined) return false;
    pending.finish(response.kind === 'success' ? response.mapped : null);
    return true;
  }

  /** Settles every pending binding with null and stops its timers. */
  close(): void {
    for (const pending of [...this.pending.values()]) pending.finish(null);
  }
}
