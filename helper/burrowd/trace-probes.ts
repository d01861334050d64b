import type { Explanation } from '../../src/filter/explanation.js';
import type { PacketSource } from '../../src/filter/inbound-filter.js';
import type { Status } from '../../src/localapi/api.js';
import { PendingProbes, type ProbeOutcome, type ProbeQuestion } from '../../src/trace/pending-probes.js';
import { isProbePacket } from '../../src/trace/probe-packet.js';
import { type ProbeAsker, ProbeResponder } from '../../src/trace/probe-responder.js';
import { TraceProbes } from '../../src/trace/trace-probes.js';
import type { Peer } from '../../src/wireguard/peer.js';
import type { Origin } from '../bind/bind.js';
import type { InboundTap } from './mesh-filter.js';

export interface ProbeTransportOptions {
  /** Sends a packet into the tunnel, as if the kernel had (Tunnel.inject). */
  inject: (packet: Uint8Array) => void;
  clock: () => number;
  /** This device's tunnel addresses, now. */
  selfAddresses: () => readonly string[];
  /** The inbound filter's explain (InboundFilter.explain). */
  explain: (packet: Uint8Array, from: PacketSource, now: number) => Explanation;
  /** The map's peer behind a WireGuard peer: its node id, own addresses and quarantine, or null. */
  askerOf: (peer: Peer) => ProbeAsker | null;
}

/**
 * Trace probes in burrowd's datapath (src/trace/probe-packet.ts: IP protocol 99 inside the tunnel).
 * Every packet of that protocol that comes out of the tunnel is taken here (an InboundTap), before
 * the packet filter and the TUN: never delivered to the kernel. TraceProbes answers a request
 * (with the asker the tunnel authenticated), and the answer goes back into the tunnel to the asker;
 * an answer completes one of our own traces' probes. What is refused or cannot be parsed is
 * counted, never answered.
 */
export class ProbeTransport implements InboundTap {
  private readonly probes: TraceProbes;
  private readonly waiting = new Map<string, (outcome: ProbeOutcome) => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private unknownPeer = 0;

  constructor(private readonly options: ProbeTransportOptions) {
    // One responder for the node's life (its rate limits outlive a map); our addresses as they are now.
    const responder = new ProbeResponder({
      get selfAddresses() {
        return options.selfAddresses();
      },
      explain: options.explain,
    });
    this.probes = new TraceProbes(responder, new PendingProbes());
  }

  consume(packet: Uint8Array, peer: Peer, _origin: Origin): boolean {
    if (!isProbePacket(packet)) return false;
    const asker = this.options.askerOf(peer);
    if (asker === null) {
      this.unknownPeer++;
      return true;
    }
    const { reply, outcome } = this.probes.receive(packet, asker, this.options.clock());
    if (reply !== null) this.options.inject(reply);
    if (outcome !== null) this.settle(outcome);
    return true;
  }

  /** Asks the peer of `question`; resolves with its answer, or with none after the timeout. */
  ask(question: ProbeQuestion): Promise<ProbeOutcome> {
    const { id, packet } = this.probes.pending.ask(question, this.options.clock());
    const outcome = new Promise<ProbeOutcome>((resolve) => this.waiting.set(id, resolve));
    this.options.inject(packet);
    this.schedule();
    return outcome;
  }

  /** What `burrow status --json` shows of the probes (Status.traceProbes). */
  counters(): NonNullable<Status['traceProbes']> {
    return {
      answered: this.probes.responder.answered,
      refused: Object.entries(this.probes.responder.refusals).map(([reason, count]) => ({ reason, count })),
      malformed: Object.entries(this.probes.malformed).map(([field, count]) => ({ field, count })),
      unmatched: this.probes.pending.unmatched,
      unknownPeer: this.unknownPeer,
    };
  }

  /** Ends every wait (the tunnel goes down): the traces waiting hear no answer. */
  cancelAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const outcome of this.probes.pending.expire(Number.POSITIVE_INFINITY)) this.settle(outcome);
  }

  private settle(outcome: ProbeOutcome): void {
    const resolve = this.waiting.get(outcome.id);
    this.waiting.delete(outcome.id);
    resolve?.(outcome);
  }

  /** One timer for the earliest deadline of the pending probes. */
  private schedule(): void {
    clearTimeout(this.timer);
    const next = this.probes.pending.nextDeadline();
    if (next === null) return;
    this.timer = setTimeout(
      () => {
        for (const outcome of this.probes.pending.expire(this.options.clock())) this.settle(outcome);
        this.schedule();
      },
      Math.max(0, Math.ceil(next - this.options.clock())),
    );
    this.timer.unref();
  }
}
