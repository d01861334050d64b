/**
 * The asker's side of trace probes: the probes sent and not yet answered, each under a random id,
 * for the peer and address it went to. An answer counts only if its id is pending AND it came
 * from that same peer and address (a peer cannot answer for another, nor replay an answer to a
 * probe it was not sent), and only once. Unanswered probes expire after their timeout; the trace
 * then says the peer did not answer. I/O-free: burrowd sends the packets, feeds back what comes
 * out of the tunnel, and calls `expire` on a timer (`nextDeadline`).
 */

import { canonicalAddress } from './asked-packet.js';
import type { ProbeAnswer, ProbeProtocol } from './probe-message.js';
import { encodeProbePacket, type ProbePacket } from './probe-packet.js';

/** What to ask a peer: about a packet from our address `from` to `to`:`port`. */
export interface ProbeQuestion {
  /** The peer's node id, which the answer must come from. */
  readonly peerId: string;
  /** Our tunnel address: the probe's source, and the source of the packet asked about. */
  readonly from: string;
  /** The peer's tunnel address, where the probe goes. */
  readonly peerAddress: string;
  readonly protocol: ProbeProtocol;
  /** The destination of the packet asked about: the peer's address, or one in a subnet it routes. */
  readonly dst: string;
  /** 0 for icmp. */
  readonly port: number;
  readonly askListening: boolean;
}

export interface ProbeOutcome {
  readonly id: string;
  readonly question: ProbeQuestion;
  /** The answer, or null if none came before the timeout. */
  readonly answer: ProbeAnswer | null;
  /** From sending to the answer (or to the timeout), in ms. */
  readonly ms: number;
}

export interface PendingProbesOptions {
  readonly timeoutMs?: number;
  /** Probes waiting at once; asking more throws (a trace asks one per run). */
  readonly maxPending?: number;
  /** n random bytes; crypto.getRandomValues by default. */
  readonly random?: (n: number) => Uint8Array;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 3000;
const DEFAULT_MAX_PENDING = 64;

interface Pending {
  readonly question: ProbeQuestion;
  /** The question's addresses, canonical. */
  readonly from: string;
  readonly to: string;
  readonly sentAt: number;
  readonly deadline: number;
}

export class PendingProbes {
  /** Answers dropped: for no pending probe, or from another peer or address than asked. */
  unmatched = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly random: (n: number) => Uint8Array;

  constructor(options: PendingProbesOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    this.random = options.random ?? ((n) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
  }

  get size(): number {
    return this.pending.size;
  }

  /** Registers a probe; returns its id and the packet to send into the tunnel to the peer. */
  ask(question: ProbeQuestion, now: number): { id: string; packet: Uint8Array } {
    if (this.pending.size >= this.maxPending)
      throw new Error(`${this.maxPending} trace probes are already waiting`);
    let id: string;
    do {
      id = Array.from(this.random(8), (b) => b.toString(16).padStart(2, '0')).join('');
    } while (this.pending.has(id));
    const packet = encodeProbePacket(question.from, question.peerAddress, {
      type: 'request',
      id,
      protocol: question.protocol,
      src: question.from,
      dst: question.dst,
      port: question.port,
      askListening: question.askListening,
    });
    // Answers are matched on the addresses as the packet writes them.
    const [from, to] = [canonicalAddress(question.from)!, canonicalAddress(question.peerAddress)!];
    this.pending.set(id, { question, from, to, sentAt: now, deadline: now + this.timeoutMs });
    return { id, packet };
  }

  /**
   * Takes an answer that came out of the tunnel from peer `peerId` (parsed by parseProbePacket).
   * Returns the outcome it completes, or null (counted in `unmatched`) if it matches no probe.
   */
  receive(probe: ProbePacket & { message: ProbeAnswer }, peerId: string, now: number): ProbeOutcome | null {
    const id = probe.message.id;
    const p = this.pending.get(id);
    if (
      p === undefined ||
      p.deadline <= now ||
      p.question.peerId !== peerId ||
      probe.src !== p.to ||
      probe.dst !== p.from
    ) {
      this.unmatched++;
      return null;
    }
    this.pending.delete(id);
    return { id, question: p.question, answer: probe.message, ms: Math.max(0, now - p.sentAt) };
  }

  /** Removes and returns the probes whose timeout has passed, with no answer. */
  expire(now: number): ProbeOutcome[] {
    const out: ProbeOutcome[] = [];
    for (const [id, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(id);
      out.push({ id, question: p.question, answer: null, ms: Math.max(0, now - p.sentAt) });
    }
    return out;
  }

  /** Gives up on a probe (its trace was cancelled); false if it was not pending. */
  cancel(id: string): boolean {
    return this.pending.delete(id);
  }

  /** When the next probe times out, or null if none waits. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const p of this.pending.values()) if (next === null || p.deadline < next) next = p.deadline;
    return next;
  }
}
