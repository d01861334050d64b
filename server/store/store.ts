import type { DnsSettings } from '../../src/control/dns-settings.js';
import type {
  ApiKey,
  AuthKey,
  ChangeRecord,
  Device,
  Invite,
  LoginSession,
  Network,
  NetworkDns,
  Policy,
  Share,
  User,
} from './types.js';

/**
 * burrow-server's storage, independent of the database behind it (SQLite now, PostgreSQL later).
 *
 * Rules every implementation keeps:
 * - Synchronous: a call returns when its data is committed (verifyPassword alone returns a promise:
 *   its work is a deliberately slow hash, not the database).
 * - Each write is one transaction: it happens whole, with its change-feed records, or not at all.
 *   `transaction(fn)` joins several calls into one.
 * - Time comes from the caller: every call that records or checks a time takes `now` (Unix ms),
 *   so the server decides the clock and tests can move it.
 * - Deliberate failures throw StoreError with a code (see errors.ts).
 * - Ids are opaque strings; lists come oldest first unless stated.
 */
export interface Store {
  /** Runs `fn` as one transaction; store calls inside join it; a throw undoes all of them. */
  transaction<T>(fn: () => T): T;
  close(): void;

  // --- networks and users ---
  /** With a fresh random ULA /48. duplicate-name if the name is taken. */
  createNetwork(input: { name: string }, now: number): Network;
  /** not-found if missing, as every `get*` below. */
  getNetwork(id: string): Network;
  findNetworkByName(name: string): Network | null;
  listNetworks(): Network[];

  /** Without `networkId`, also creates a personal network named after the user. */
  createUser(input: NewUser, now: number): User;
  getUser(id: string): User;
  findUserByName(name: string): User | null;
  listUsers(networkId: string): User[];
  /** Sets or replaces the user's password for the sign-in page; invalid unless it is 8-256 characters. */
  setPassword(id: string, password: string): User;
  /**
   * The user if `name` has a password and it matches; null otherwise, in about the same time. The
   * one asynchronous call: it reads at once, then hashes off the event loop (scrypt takes ~100 ms).
   */
  verifyPassword(name: string, password: string): Promise<User | null>;

  // --- pre-auth keys ---
  /** `secret` is returned only here. */
  createAuthKey(input: NewAuthKey, now: number): { authKey: AuthKey; secret: string };
  listAuthKeys(userId: string): AuthKey[];
  revokeAuthKey(id: string, now: number): AuthKey;
  /** auth-key-unknown, -revoked, -expired or -used; else records the use and returns the key. */
  consumeAuthKey(secret: string, now: number): AuthKey;

  // --- devices ---
  /**
   * Registers a machine for `userId`. A machine already known (same machine key) for that user is
   * re-authenticated instead: new node and disco keys, new key expiry, same id, name and addresses.
   * Known for another user, its old device is removed first: a machine is one device.
   */
  registerDevice(input: NewDevice, now: number): Device;
  /** consumeAuthKey and registerDevice (as the key's user, with its tags and ephemerality) at once. */
  registerDeviceWithAuthKey(secret: string, input: DeviceIdentity, now: number): Device;
  getDevice(id: string): Device;
  findDeviceByMachineKey(machineKey: string): Device | null;
  findDeviceByNodeKey(nodeKey: string): Device | null;
  /** Ordered by name. */
  listDevices(networkId: string): Device[];
  listUserDevices(userId: string): Device[];
  /** `name` must be a lower-case DNS label; duplicate-name if taken in the network. */
  renameDevice(id: string, name: string, now: number): Device;
  /** Also ends the device's shares and invites. */
  deleteDevice(id: string, now: number): void;
  rotateNodeKey(id: string, nodeKey: string, now: number): Device;
  /** Extends the key expiry (default DEFAULTS.deviceKeyLifetimeMs from now). */
  reauthenticateDevice(id: string, now: number, keyExpiry?: number | null): Device;
  /**
   * Changes to `online`, `endpoints` or `homeRelay` reach the change feed; `lastSeen` alone does
   * not. invalid (and nothing set) if any field is malformed.
   */
  setDeviceStatus(id: string, status: DeviceStatus, now: number): Device;
  setAdvertisedRoutes(id: string, routes: RouteOffer, now: number): Device;
  approveRoutes(id: string, routes: RouteOffer, now: number): Device;

  // --- sharing ---
  /** By the device's owner; `code` is returned only here. */
  createInvite(input: NewInvite, now: number): { invite: Invite; code: string };
  /** Incoming: invites naming the user. Outgoing: invites the user made. Newest first. */
  listInvites(userId: string, now: number): { incoming: Invite[]; outgoing: Invite[] };
  /**
   * By code (a link invite, or a named one by its recipient) or by id (a named invite, by its
   * recipient). Accepting a device already shared with the user returns the existing share.
   */
  acceptInvite(ref: InviteRef, recipientUserId: string, now: number): Share;
  declineInvite(id: string, recipientUserId: string, now: number): Invite;
  /**
   * By the owner: the invite and every share made from it end. By a recipient: their share ends
   * (a pending named invite is declined); a single-use invite becomes revoked.
   */
  revokeInvite(id: string, byUserId: string, now: number): Invite;
  /** Ends one share, by the device's owner or the recipient. */
  revokeShare(id: string, byUserId: string, now: number): void;
  listAcceptedShares(recipientUserId: string): Share[];
  sharesOfDevice(deviceId: string): Share[];
  /** Every accepted share on the server (the coordinator loads them once and follows the feed). */
  listShares(): Share[];

  // --- policy ---
  /** null until a policy was set; the policy layer supplies the default. */
  getPolicy(networkId: string): Policy | null;
  setPolicy(networkId: string, text: string, now: number): Policy;

  // --- DNS ---
  /** The network's DNS settings (none until set). not-found if the network is missing. */
  getDnsSettings(networkId: string): NetworkDns;
  /**
   * Replaces them whole, in normal form (src/control/dns-settings.ts checkDnsSettings, against the
   * network's own resolver address and, when given, the base domain); invalid, naming the field,
   * and nothing changed, if any part is bad.
   */
  setDnsSettings(networkId: string, settings: DnsSettings, now: number, baseDomain?: string): NetworkDns;

  // --- admin API keys ---
  /** `secret` is returned only here. not-found if the network is missing; invalid if already expired. */
  createApiKey(input: NewApiKey, now: number): { apiKey: ApiKey; secret: string };
  /** Expired ones too, until revoked. */
  listApiKeys(): ApiKey[];
  /** api-key-unknown or api-key-expired; else records the use and returns the key. */
  verifyApiKey(secret: string, now: number): ApiKey;
  /** Deletes the key: it is unknown from then on. */
  revokeApiKey(id: string): void;

  // --- interactive login ---
  createLoginSession(input: NewLoginSession, now: number): LoginSession;
  /** Returned even when expired or completed: the waiting device polls it for the outcome. */
  getLoginSession(id: string): LoginSession;
  /** Of these sessions, the completed ones with the device each registered, in one query. */
  completedLoginSessions(ids: readonly string[]): Map<string, string>;
  /** Registers (or re-authenticates) the waiting device for `userId`. login-expired, login-completed. */
  completeLoginSession(id: string, userId: string, now: number): { session: LoginSession; device: Device };
  /** Ends a session early (the user cancelled). */
  expireLoginSession(id: string, now: number): void;
  /** Housekeeping: deletes sessions past their expiry; returns how many. */
  deleteExpiredLoginSessions(now: number): number;

  // --- change feed ---
  /** The seq of the last change anywhere; 0 before the first. */
  currentSeq(): number;
  /**
   * The network's changes after `seq`, in order; null when they cannot all be given (pruned, or
   * `seq` is ahead of the store), and the caller must send a full map.
   */
  changesSince(networkId: string, seq: number): ChangeRecord[] | null;
  /** Every network's changes after `seq`, in order; null as for changesSince. */
  changesAfter(seq: number): ChangeRecord[] | null;
  /** Housekeeping: forgets changes recorded before `before`; returns how many. */
  pruneChanges(before: number): number;
}

export interface NewUser {
  name: string;
  /** Omitted for users who sign in only through an identity provider. */
  password?: string;
  networkId?: string;
}

export interface NewApiKey {
  /** The one network the key may see and change. */
  networkId: string;
  /** Default DEFAULTS.apiKeyLifetimeMs from now. There is no key that never expires. */
  expiresAt?: number;
}

export interface NewAuthKey {
  userId: string;
  reusable?: boolean;
  ephemeral?: boolean;
  tags?: string[];
  /** Default DEFAULTS.authKeyLifetimeMs from now. */
  expiresAt?: number;
}

/** What a device says about itself when it registers. */
export interface DeviceIdentity {
  machineKey: string;
  nodeKey: string;
  discoKey: string;
  /** Made into a DNS label and made unique in the network ("host", "host-1", ...). */
  hostname: string;
}

export interface NewDevice extends DeviceIdentity {
  userId: string;
  ephemeral?: boolean;
  tags?: string[];
  /** Default DEFAULTS.deviceKeyLifetimeMs from now; null never expires. */
  keyExpiry?: number | null;
}

export interface DeviceStatus {
  online?: boolean;
  lastSeen?: number;
  endpoints?: string[];
  /** A relay region id (1-65535), or null for none. */
  homeRelay?: number | null;
}

export interface RouteOffer {
  routes: string[];
  exitNode: boolean;
}

export interface NewInvite {
  deviceId: string;
  byUserId: string;
  /** A named invite; omitted for a link/code anyone holding it may accept. */
  recipientUserId?: string;
  /** Link invites only: accepted by any number of users until revoked or expired. */
  multiUse?: boolean;
  /** Default DEFAULTS.inviteLifetimeMs from now. */
  expiresAt?: number;
}

export type InviteRef = { code: string } | { id: string };

export interface NewLoginSession extends DeviceIdentity {
  /** The address the request came from, shown on the sign-in page. */
  requestedFrom?: string;
  /** Default DEFAULTS.loginSessionLifetimeMs from now. */
  expiresAt?: number;
}
