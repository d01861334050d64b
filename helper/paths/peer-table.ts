import { PeerPath } from '../../src/paths/peer-path.js';
import type { Endpoint } from '../../src/wireguard/actions.js';
import { decodeKey } from '../../src/wireguard/keys.js';

/** What the conn needs to know of a peer: from the netmap. */
export interface PathPeer {
  nodeKey: string;
  discoKey: string;
  endpoints: readonly string[];
  homeRelay: number | null;
}

/** A mesh peer as the conn keeps it: its keys, its path selection, and what was last logged and told. */
export interface PeerEntry {
  peer: PathPeer;
  nodeKey: Uint8Array;
  discoKey: Uint8Array;
  path: PeerPath;
  virtual: Endpoint;
  /** Whether the path was direct when last looked at, and ever, to log the changes. */
  direct: boolean;
  everDirect: boolean;
  /** What the fast path was last told of the direct path ("" for none). */
  toldFast: string;
}

/** WireGuard sees each mesh peer at one fixed, made-up endpoint; the conn picks the real path. */
export const VIRTUAL = 'peer:';

export function virtualEndpoint(nodeKey: string): Endpoint {
  return { host: VIRTUAL + nodeKey, port: 0 };
}

export function addressKey(e: { host: string; port: number }): string {
  return `${e.host}|${e.port}`;
}

/**
 * The conn's peers, found the four ways a packet names one: by WireGuard's virtual endpoint, by
 * node key (the netmap, the relay), by disco key (a disco packet's sender), and by a direct address
 * that answered the peer's disco (WireGuard packets from there are that peer's).
 */
export class PeerTable {
  private readonly byVirtual = new Map<string, PeerEntry>();
  private readonly byNodeKey = new Map<string, PeerEntry>();
  private readonly byDisco = new Map<string, PeerEntry>();
  private readonly byAddress = new Map<string, PeerEntry>();

  constructor(private readonly random: (n: number) => Uint8Array) {}

  /**
   * Makes the table's peers those of the netmap: gone ones are forgotten, one whose disco key
   * changed (it restarted) starts afresh. Returns the entries, with `peer` updated.
   */
  set(peers: readonly PathPeer[]): PeerEntry[] {
    const wanted = new Set(peers.map((p) => p.nodeKey));
    for (const [key, e] of this.byNodeKey) if (!wanted.has(key)) this.forget(e);
    return peers.map((peer) => {
      let e = this.byNodeKey.get(peer.nodeKey);
      if (e !== undefined && e.peer.discoKey !== peer.discoKey) {
        this.forget(e);
        e = undefined;
      }
      if (e === undefined) {
        e = {
          peer,
          nodeKey: decodeKey(peer.nodeKey),
          discoKey: decodeKey(peer.discoKey),
          path: new PeerPath(this.random),
          virtual: virtualEndpoint(peer.nodeKey),
          direct: false,
          everDirect: false,
          toldFast: '',
        };
        this.byNodeKey.set(peer.nodeKey, e);
        this.byVirtual.set(e.virtual.host, e);
        this.byDisco.set(peer.discoKey, e);
      }
      e.peer = peer;
      return e;
    });
  }

  entries(): IterableIterator<PeerEntry> {
    return this.byNodeKey.values();
  }

  byNode(nodeKey: string): PeerEntry | undefined {
    return this.byNodeKey.get(nodeKey);
  }

  byVirtualHost(host: string): PeerEntry | undefined {
    return this.byVirtual.get(host);
  }

  byDiscoKey(discoKey: string): PeerEntry | undefined {
    return this.byDisco.get(discoKey);
  }

  byAddressOf(from: { host: string; port: number }): PeerEntry | undefined {
    return this.byAddress.get(addressKey(from));
  }

  /** `from` answered `e`'s disco: WireGuard packets from there are `e`'s. */
  heardAt(from: Endpoint, e: PeerEntry): void {
    this.byAddress.set(addressKey(from), e);
  }

  private forget(e: PeerEntry): void {
    this.byNodeKey.delete(e.peer.nodeKey);
    this.byVirtual.delete(e.virtual.host);
    this.byDisco.delete(e.peer.discoKey);
    for (const [k, v] of this.byAddress) if (v === e) this.byAddress.delete(k);
  }
}
