import { deviceNames } from '../../src/control/device-names.js';
import type { Netmap, NodeInfo } from '../../src/control/messages.js';
import type { BackendState, PeerStatus, Prefs, Status } from '../../src/localapi/api.js';
import { endpointText } from '../../src/wireguard/actions.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import type { Peer } from '../../src/wireguard/peer.js';
import type { PeerPathStatus } from '../paths/path-conn.js';

/** A handshake newer than this (WireGuard's REJECT_AFTER_TIME) means the path is live. */
const LIVE_HANDSHAKE_MS = 180_000;

export interface StatusInput {
  version: string;
  backendState: BackendState;
  authUrl: string | null;
  netmap: Netmap | null;
  prefs: Prefs;
  controlConnected: boolean;
  /** The WireGuard peer for a node key, while the tunnel is up. */
  peer: (nodeKey: string) => Peer | undefined;
  /** How packets to the peer travel, while the tunnel is up. */
  path: (nodeKey: string) => PeerPathStatus | null;
  now: number;
  health: string[];
  /** The fast path's figures, while the tunnel is up with one. */
  fastPath: Status['fastPath'];
  traceProbes?: Status['traceProbes'];
  portMapping?: Status['portMapping'];
}

/** The LocalAPI's status: the netmap as the user sees it, with each peer's live tunnel figures. */
export function buildStatus(input: StatusInput): Status {
  const { netmap, prefs } = input;
  // Self first, then the peers in map order.
  const names = netmap ? deviceNames(netmap) : [];
  const peers: PeerStatus[] = (netmap?.peers ?? []).map((node: NodeInfo, i) => {
    const wg = input.peer(node.nodeKey);
    const handshake = wg && wg.lastHandshakeWall > 0 ? Math.round(wg.lastHandshakeWall) : null;
    const live = handshake !== null && input.now - handshake < LIVE_HANDSHAKE_MS;
    const path = live ? input.path(node.nodeKey) : null;
    return {
      id: node.id,
      hostName: node.name,
      dnsName: names[i + 1]!.fqdn,
      shortName: names[i + 1]!.short,
      user: node.user,
      ips: node.ips,
      online: node.online,
      shared: node.shared,
      exitNode: prefs.exitNode === node.id,
      exitNodeOption: node.exitNodeOption,
      routes: node.routes,
      path: path?.path ?? 'none',
      endpoint: path?.endpoint ? endpointText(path.endpoint) : null,
      found: path?.found ?? null,
      relay: path?.relay ?? null,
      latencyMs: path?.latencyMs != null ? Math.round(path.latencyMs) : null,
      lastHandshake: handshake,
      rxBytes: wg?.rxBytes ?? 0,
      txBytes: wg?.txBytes ?? 0,
    };
  });
  const self = netmap?.self;
  return {
    version: input.version,
    backendState: input.backendState,
    authUrl: input.authUrl,
    self: self
      ? {
          id: self.id,
          hostName: self.name,
          dnsName: names[0]!.fqdn,
          shortName: names[0]!.short,
          user: self.user,
          network: self.network,
          ips: self.ips,
          online: input.controlConnected,
          keyExpiry: self.keyExpiry,
        }
      : null,
    peers,
    shieldsUp: prefs.shieldsUp,
    exitNode: prefs.exitNode,
    controlConnected: input.controlConnected,
    relays: netmap?.relays ?? [],
    health: input.health,
    fastPath: input.fastPath ?? null,
    ...(input.traceProbes ? { traceProbes: input.traceProbes } : {}),
    ...(input.portMapping ? { portMapping: input.portMapping } : {}),
  };
}

/** The peers offered as exit nodes, and which one the user chose (`burrow exit-node list`). */
export function exitNodeList(netmap: Netmap | null, prefs: Prefs) {
  return (netmap?.peers ?? [])
    .filter((p) => p.exitNodeOption)
    .map((p) => ({
      id: p.id,
      hostName: p.name,
      ips: p.ips,
      online: p.online,
      selected: prefs.exitNode === p.id,
    }));
}

/** A peer named as a user would: id, host name, short or full DNS name (a final dot allowed), or address. */
export function findPeer(netmap: Netmap | null, ref: string): NodeInfo | undefined {
  if (netmap === null) return undefined;
  const names = deviceNames(netmap);
  const name = ref.toLowerCase().replace(/\.$/, '');
  return (
    netmap.peers.find((p) => p.id === ref || p.ips.includes(ref)) ??
    netmap.peers.find((_, i) => names[i + 1]!.short === name || names[i + 1]!.fqdn === name) ??
    netmap.peers.find((p) => p.name === ref)
  );
}

export const nodeKeyOf = (peer: Peer) => encodeKey(peer.publicKey);
