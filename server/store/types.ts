import type { DnsSettings } from '../../src/control/dns-settings.js';

/**
 * The coordination server's records, as the rest of the server sees them. Times are Unix
 * milliseconds. Secret material (password hashes, key and code hashes) never appears here: it
 * stays in the database and is only used through the Store's verify/consume operations, so a record
 * can be serialised to an API response without leaking anything.
 */

const DAY = 86_400_000;

/** Defaults a caller may override per operation. */
export const DEFAULTS = {
  /** A device must re-authenticate this long after registering or re-authenticating. */
  deviceKeyLifetimeMs: 180 * DAY,
  authKeyLifetimeMs: 90 * DAY,
  inviteLifetimeMs: 30 * DAY,
  /** Admin API keys always expire: a key forgotten in a script or a paste stops working by itself. */
  apiKeyLifetimeMs: 90 * DAY,
  /**
   * How long a login URL stays usable: long enough to sign in, short enough that a link sent to
   * someone else (phishing) goes stale before it is likely to be opened.
   */
  loginSessionLifetimeMs: 10 * 60_000,
} as const;

/** A tailnet-like namespace: its users' devices see each other, subject to its policy. */
export interface Network {
  id: string;
  name: string;
  /** This network's own RFC 4193 prefix, `fdXX:XXXX:XXXX::/48`. */
  ula: string;
  createdAt: number;
}

export interface User {
  id: string;
  /** Login name, unique server-wide (case-insensitively). */
  name: string;
  networkId: string;
  hasPassword: boolean;
  createdAt: number;
}

/** A pre-auth key. Its secret (`bkey-<prefix>-<random>`) is returned once, at creation. */
export interface AuthKey {
  id: string;
  userId: string;
  prefix: string;
  reusable: boolean;
  /** Devices registered with it are ephemeral. */
  ephemeral: boolean;
  /** Devices registered with it carry these tags. */
  tags: string[];
  createdAt: number;
  expiresAt: number;
  /** Last use; a single-use key is spent once this is set. */
  usedAt: number | null;
  revokedAt: number | null;
}

export interface Device {
  id: string;
  networkId: string;
  userId: string;
  /** DNS label, unique in its network. */
  name: string;
  machineKey: string;
  /** WireGuard public key; unique server-wide. */
  nodeKey: string;
  discoKey: string;
  /** From the server-wide IPv4 pool (100.64.0.0/10 by default), unique server-wide. */
  ipv4: string;
  /** The network's ULA /48 with the IPv4 address as the last 32 bits. */
  ipv6: string;
  tags: string[];
  ephemeral: boolean;
  /** When the node key stops being accepted; null never expires. */
  keyExpiry: number | null;
  lastSeen: number | null;
  online: boolean;
  /** `ip:port` / `[ip6]:port` where the device can be reached. */
  endpoints: string[];
  /** The relay region id the device reports as its home (its lowest-latency one); null for none. */
  homeRelay: number | null;
  /** Subnet routes the device offers. */
  advertisedRoutes: string[];
  /** Subnet routes an admin allowed; only those also advertised are in effect. */
  approvedRoutes: string[];
  advertisesExitNode: boolean;
  exitNodeApproved: boolean;
  createdAt: number;
}

/** `expired` is never stored: a pending invite reads as expired once its time has passed. */
export type InviteState = 'pending' | 'accepted' | 'declined' | 'revoked' | 'expired';

/**
 * An offer by a device's owner to share it. Named invites go to one user; link invites (no
 * recipient) go to whoever holds the code, once or, when multi-use, to any number of users.
 * A multi-use invite stays pending after acceptances, until it is revoked or expires.
 */
export interface Invite {
  id: string;
  deviceId: string;
  ownerUserId: string;
  recipientUserId: string | null;
  /** Shown to tell codes apart; the code itself is returned once, at creation. */
  prefix: string;
  multiUse: boolean;
  state: InviteState;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
}

/** An accepted invite: the device is visible to the recipient user's own devices (not their network). */
export interface Share {
  id: string;
  inviteId: string;
  deviceId: string;
  ownerUserId: string;
  recipientUserId: string;
  createdAt: number;
}

/** A network's access policy, HuJSON text kept verbatim (comments included). */
export interface Policy {
  networkId: string;
  text: string;
  updatedAt: number;
}

/** A key for the admin HTTP API. Its secret (`bapi-<prefix>-<random>`) is returned once. */
export interface ApiKey {
  id: string;
  prefix: string;
  /**
   * The one network the key sees and changes. null only for a key made before keys had networks
   * (schema version 4): it sees every network until it expires.
   */
  networkId: string | null;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
}

/** A device waiting for someone to sign in in a browser at a URL that carries `id`. */
export interface LoginSession {
  id: string;
  machineKey: string;
  nodeKey: string;
  discoKey: string;
  hostname: string;
  /** The network address the request came from ('' when unknown). */
  requestedFrom: string;
  createdAt: number;
  expiresAt: number;
  /** Set when a user signed in and the session completed. */
  userId: string | null;
  /** The device registered (or re-authenticated) by the completion, while it exists. */
  completedDeviceId: string | null;
}

/** A network's DNS settings (see src/control/dns-settings.ts); updatedAt null while never set. */
export interface NetworkDns extends DnsSettings {
  networkId: string;
  updatedAt: number | null;
}

export type ChangeKind =
  | 'device-added'
  | 'device-removed'
  | 'device-changed'
  | 'policy-changed'
  | 'share-changed'
  | 'dns-changed';

/**
 * One entry of a network's change feed. `seq` is server-wide and strictly increasing, so within
 * one network it increases too (with gaps). `deviceId` names the device concerned, for share
 * changes the shared device.
 */
export interface ChangeRecord {
  seq: number;
  networkId: string;
  kind: ChangeKind;
  deviceId: string | null;
  createdAt: number;
}
