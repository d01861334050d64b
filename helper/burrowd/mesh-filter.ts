import type { Netmap } from '../../src/control/messages.js';
import { InboundFilter } from '../../src/filter/inbound-filter.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import type { Peer } from '../../src/wireguard/peer.js';
import type { PacketGate } from './datapath.js';
import type { Pinger } from './pinger.js';

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

  gate(pinger: Pinger): PacketGate {
    return {
      outbound: (packet, now) => {
        this.inbound.outbound(packet, now);
        return true;
      },
      inbound: (packet, peer, now, origin) => {
        if (origin !== null && pinger.consume(packet, origin)) return false;
        let quarantined = this.quarantine.get(peer);
        if (quarantined === undefined) {
          quarantined = this.quarantinedKeys.has(encodeKey(peer.publicKey));
          this.quarantine.set(peer, quarantined);
        }
        return this.inbound.inbound(packet, quarantined ? QUARANTINED : TRUSTED, now).allow;
      },
    };
  }
}
