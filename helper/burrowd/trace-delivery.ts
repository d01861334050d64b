import { randomInt } from 'node:crypto';
import {
  type DeliveryFlow,
  deliveryAnswer,
  deliveryProbe,
  deliveryReset,
} from '../../src/packet/delivery-probe.js';
import type { DeliveryFacts } from '../../src/trace/facts.js';
import type { Origin } from '../bind/bind.js';
import type { InboundTap } from './mesh-filter.js';

interface Pending {
  flow: DeliveryFlow;
  sentAt: number;
  resolve: (result: DeliveryFacts) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Our source ports: above Linux's default ephemeral range (32768-60999), so they are not the
 * kernel's own connections' ports. The answers to them never reach the kernel anyway while a
 * probe waits (consume takes them out).
 */
const FIRST_PORT = 61000;
const LAST_PORT = 65535;

/**
 * Stage 7 of `burrow trace` ("does anything listen on the peer's port?"): a TCP SYN or a UDP
 * datagram from our tunnel address to the peer's port, sent into the tunnel as if our kernel had,
 * and its answer (SYN-ACK, RST, port unreachable) taken out of the inbound path before the filter
 * and the TUN (an InboundTap), so our kernel sends no RST of its own and no connection is made.
 * A SYN-ACK is answered with an RST: the peer's socket does not wait for a connection that never
 * comes. The fast path hands SYN-ACKs and RSTs to JS for this (fp_filter_passes).
 */
export class DeliveryProber implements InboundTap {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly inject: (packet: Uint8Array) => void,
    private readonly clock: () => number,
  ) {}

  /**
   * Probes `protocol` `dst`:`port` from `src`; resolves after an answer (listening: a SYN-ACK, which
   * is reset; refused: an RST or a port unreachable) or `timeoutMs` (no-answer: for UDP, open or
   * filtered; for TCP, the SYN was dropped).
   */
  probe(
    protocol: 'tcp' | 'udp',
    src: string,
    dst: string,
    port: number,
    timeoutMs: number,
  ): Promise<DeliveryFacts> {
    let flow: DeliveryFlow;
    do {
      flow = { protocol, src, dst, srcPort: randomInt(FIRST_PORT, LAST_PORT + 1), dstPort: port };
    } while (this.pending.has(keyOf(flow)));
    const key = keyOf(flow);
    const sentAt = this.clock();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve({ outcome: 'no-answer', ms: this.clock() - sentAt });
      }, timeoutMs);
      this.pending.set(key, { flow, sentAt, resolve, timer });
      this.inject(deliveryProbe(flow, randomInt(0, 0xffffffff)));
    });
  }

  consume(packet: Uint8Array, _peer: unknown, _origin: Origin): boolean {
    if (this.pending.size === 0) return false;
    for (const [key, p] of this.pending) {
      const answer = deliveryAnswer(packet, p.flow);
      if (answer === null) continue;
      this.pending.delete(key);
      clearTimeout(p.timer);
      if (answer.listening) this.inject(deliveryReset(p.flow, answer));
      p.resolve({ outcome: answer.listening ? 'listening' : 'refused', ms: this.clock() - p.sentAt });
      return true;
    }
    return false;
  }

  cancelAll(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve({ outcome: 'no-answer', ms: 0 });
    }
    this.pending.clear();
  }
}

function keyOf(flow: DeliveryFlow): string {
  return `${flow.protocol} ${flow.dst} ${flow.srcPort}`;
}
