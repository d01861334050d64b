import type { Netmap } from '../../src/control/messages.js';
import { InboundFilter } from '../../src/filter/inbound-filter.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import type { Peer } from '../../src/wireguard/peer.js';
import type { Origin } from '../bind/bind.js';
import type { PacketGate } from './datapath.js';

/**
 * Something burrowd sent into the tunnel itself (its ping, a trace's probes) waits for an answer:
 * it takes the packets that are its answers out of the inbound path, before the filter and the TUN.
 */
export interface InboundTap {
  /** Takes `packet`, decrypted from `peer` (whose datagram came from `origin`): true when it was its own. */
  consume(packet: Uint8Array, peer: Peer, origin: Origin): boolean;
}

const QUARANTINED = Object.freeze({ quarantined: true });
const TRUSTED = Object.freeze({ quarantined: false });

/**
 * The packet filter of a mesh node, fed from the netmap (the server's rules, which peers are
 * shared in and so quarantined) and the prefs (Shields Up), and placed in the datapath as its gate.
 */
export class MeshFilter {
  readonly inbound = new InboundFilter();
  private quarantinedKeys = new Set<string>();
  // Per WireGuard peer, so the per-packet check needs no key encoding; cleared with each netmap.
  private quarantine = new WeakMap<Peer, boolean>();
  /** Why the netmap's rules were refused, while they are; the previous rules are then in force. */
  refusal: string | null = null;

  /**
   * Takes Shields Up, the quarantine and the netmap's rules. A rule set this burrowd cannot use (a
   * newer server's, or a broken one) is refused whole and must not stop the rest of the map: the
   * previous rules stay in force (before the first usable set, none: nothing new gets in), and
   * `refusal` says why. Returns whether `refusal` changed.
   */
  update(map: Netmap, shieldsUp: boolean): boolean {
    this.inbound.setShieldsUp(shieldsUp);
    this.quarantinedKeys = new Set(map.peers.filter((p) => p.shared).map((p) => p.nodeKey));
    this.quarantine = new WeakMap();
    let refusal: string | null = null;
    try {
      this.inbound.setRules(map.filter);
    } catch (error) {
      refusal = (error as Error).message;
    }
    const changed = refusal !== this.refusal;
    this.refusal = refusal;
    return changed;
  }

  /** Whether packets from `peer` come from a device shared into our network (see update). */
  quarantined(peer: Peer): boolean {
    let quarantined = this.quarantine.get(peer);
    if (quarantined === undefined) {
      quarantined = this.quarantinedKeys.has(encodeKey(peer.publicKey));
      this.quarantine.set(peer, quarantined);
    }
    return quarantined;
  }

  /** The datapath's gate: the taps see each inbound packet first, then the filter judges the rest. */
  gate(taps: readonly InboundTap[]): PacketGate {
    return {
      outbound: (packet, now) => {
        this.inbound.outbound(packet, now);
        return true;
      },
      inbound: (packet, peer, now, origin) => {
        if (origin !== null) for (const tap of taps) if (tap.consume(packet, peer, origin)) return false;
        return this.inbound.inbound(packet, this.quarantined(peer) ? QUARANTINED : TRUSTED, now).allow;
      },
    };
  }
}
