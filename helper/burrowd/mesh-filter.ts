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

  /**
   * Takes Shields Up, the quarantine and the netmap's rules. A rule set that does not parse is
   * refused whole (the old rules stay) and reported by the throw, after everything else applied.
   */
  update(map: Netmap, shieldsUp: boolean): void {
    this.inbound.setShieldsUp(shieldsUp);
    this.quarantinedKeys = new Set(map.peers.filter((p) => p.shared).map((p) => p.nodeKey));
    this.quarantine = new WeakMap();
    this.inbound.setRules(map.filter);
  }

  gate(pinger: Pinger): PacketGate {
    return {
      outbound: (packet, now) => {
        this.inbound.outbound(packet, now);
        return true;
      },
      inbound: (packet, peer, now) => {
        if (pinger.consume(packet)) return false;
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
