/**
 * burrowd's one entry point for trace probes out of the tunnel: parses the packet, hands a request
 * to the responder (this device answering a peer) and an answer to the pending probes (this
 * device's own trace), and counts what does not parse by the field refused. I/O-free.
 *
 * How burrowd uses src/trace:
 *  - every decrypted packet for which isProbePacket holds goes to `receive` before the packet
 *    filter, with the sending peer as a ProbeAsker (its node id, its own addresses, whether it is
 *    quarantined), and never to the TUN; a `reply` is sent back into the tunnel to that peer;
 *  - a trace asks with `pending.ask` and sends the packet to the peer, waits for the outcome that
 *    `receive` returns (or `pending.expire` on a timer at `pending.nextDeadline()`), and puts it
 *    in TraceFacts.peerVerdict with the other stages' facts (facts.ts);
 *  - buildTraceReport (trace-report.ts) makes the LocalAPI's answer, passed through
 *    reportForReader for callers who may not change burrowd. A trace sends real packets (a SYN to
 *    the port), so burrowd should limit how many traces local users may start.
 */
import { PendingProbes, type ProbeOutcome } from './pending-probes.js';
import { PROBE_FIELDS, ProbeError, type ProbeField } from './probe-message.js';
import { parseProbePacket } from './probe-packet.js';
import type { ProbeAsker, ProbeResponder } from './probe-responder.js';

export interface ProbeReceipt {
  /** A packet to send back into the tunnel, to the peer the probe came from. */
  readonly reply: Uint8Array | null;
  /** A probe of ours this answer completes. */
  readonly outcome: ProbeOutcome | null;
}

const NOTHING: ProbeReceipt = Object.freeze({ reply: null, outcome: null });

export class TraceProbes {
  /** Probe packets that did not parse, by the field refused. */
  readonly malformed = Object.fromEntries(PROBE_FIELDS.map((f) => [f, 0])) as Record<ProbeField, number>;

  constructor(
    readonly responder: ProbeResponder,
    readonly pending: PendingProbes = new PendingProbes(),
  ) {}

  /**
   * A decrypted packet for which isProbePacket holds, from `peer` (as the tunnel authenticated it).
   * Never throws; the packet is never to be delivered to the kernel, whatever this returns.
   */
  receive(packet: Uint8Array, peer: ProbeAsker, now: number): ProbeReceipt {
    let probe: ReturnType<typeof parseProbePacket>;
    try {
      probe = parseProbePacket(packet);
    } catch (error) {
      if (!(error instanceof ProbeError)) throw error;
      this.malformed[error.field]++;
      return NOTHING;
    }
    const { message } = probe;
    if (message.type === 'answer') {
      return { reply: null, outcome: this.pending.receive({ ...probe, message }, peer.id, now) };
    }
    const response = this.responder.respond({ ...probe, message }, peer, now);
    return 'answer' in response ? { reply: response.answer, outcome: null } : NOTHING;
  }
}
