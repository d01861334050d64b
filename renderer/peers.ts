/** What the Devices, Sharing and Exit node screens show of the peers, as pure functions of status. */
import type { PeerStatus, Status } from '../src/localapi/api.js';

/**
 * Peers whose short name (`nas-carol`), full name, host name, user or an address contains the
 * query (any case); all on an empty one.
 */
export function searchPeers(peers: readonly PeerStatus[], query: string): PeerStatus[] {
  const q = query.trim().toLowerCase();
  if (q === '') return [...peers];
  return peers.filter((p) =>
    [p.shortName, p.dnsName, p.hostName, p.user, ...p.ips].some((field) => field.toLowerCase().includes(q)),
  );
}

/** Online peers first (they are the ones a user is after), then by the name shown (the short one). */
export function sortPeers(peers: readonly PeerStatus[]): PeerStatus[] {
  return [...peers].sort(
    (a, b) => Number(b.online) - Number(a.online) || a.shortName.localeCompare(b.shortName),
  );
}

/**
 * The network a device belongs to, as its full name spells it: `host.NETWORK.<base domain>`
 * (src/control/device-names.ts makes every full name so, the network as one DNS label). The
 * status gives peers no network of their own; for a shared device this is its owner's network.
 */
export function networkOf(dnsName: string): string {
  return dnsName.split('.')[1] ?? '';
}

/** A device the user may share: this one, or another of their own (not one shared with them). */
export interface OwnDevice {
  id: string;
  hostName: string;
  isSelf: boolean;
}

export function myDevices(status: Status | null): OwnDevice[] {
  const self = status?.self;
  if (!self) return [];
  const others = status.peers
    .filter((p) => !p.shared && p.user === self.user)
    .sort((a, b) => a.hostName.localeCompare(b.hostName))
    .map((p) => ({ id: p.id, hostName: p.hostName, isSelf: false }));
  return [{ id: self.id, hostName: self.hostName, isSelf: true }, ...others];
}

export interface ExitNodeChoice {
  id: string;
  /** The short name, as the Devices screen shows it. */
  name: string;
  online: boolean;
  selected: boolean;
  /** Offline nodes cannot be picked, but the one in use stays shown as chosen. */
  disabled: boolean;
}

/** The peers offered as exit nodes, by short name; `selected` is the one in use (by id). */
export function exitNodeChoices(peers: readonly PeerStatus[], selected: string | null): ExitNodeChoice[] {
  return peers
    .filter((p) => p.exitNodeOption)
    .sort((a, b) => a.shortName.localeCompare(b.shortName))
    .map((p) => ({
      id: p.id,
      name: p.shortName,
      online: p.online,
      selected: p.id === selected,
      disabled: !p.online,
    }));
}
