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
 * - Asynchronous: every call returns a promise, settled once its data is committed (or it failed),
 *   so that a back end on a network connection (PostgreSQL) fits the same interface.
 * - Each write is one transaction: it happens whole, with its change-feed records, or not at all.
 *   `transaction(fn)` joins several calls into one: the store calls `fn` makes (awaited, in its own
 *   async context) join it, while calls from anywhere else wait until it ends, so nothing outside
 *   sees or joins its writes half done. A transaction should await only the store: everyone else's
 *   store calls wait for it.
 * - Time comes from the caller: every call that records or checks a time takes `now` (Unix ms),
 *   so the server decides the clock and tests can move it.
 * - Deliberate failures throw StoreError with a code (see errors.ts).
 * - Ids are opaque strings; lists come oldest first unless stated.
 */
export interface Store {
  /** Runs `fn` as one transaction; store calls inside join it; a throw undoes all of them. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;

  // --- networks and users ---
  /** With a fresh random ULA /48. duplicate-name if the name is taken. */
  createNetwork(input: { name: string }, now: number): Promise<Network>;
  /** not-found if missing, as every `get*` below. */
  getNetwork(id: string): Promise<Network>;
  findNetworkByName(name: string): Promise<Network | null>;
  listNetworks(): Promise<Network[]>;

  /** Without `networkId`, also creates a personal network named after the user. */
  createUser(input: NewUser, now: number): Promise<User>;
  getUser(id: string): Promise<User>;
  findUserByName(name: string): Promise<User | null>;
  listUsers(networkId: string): Promise<User[]>;
  /** Sets or replaces the user's password for the sign-in page; invalid unless it is 8-256 characters. */
  setPassword(id: string, password: string): Promise<User>;
  /**
   * The user if `name` has a password and it matches; null otherwise, in about the same time. It
   * reads at once, then hashes off the event loop (scrypt takes ~100 ms).
   */
  verifyPassword(name: string, password: string): Promise<User | null>;

  // --- pre-auth keys ---
  /** `secret` is returned only here. */
  createAuthKey(input: NewAuthKey, now: number): Promise<{ authKey: AuthKey; secret: string }>;
  listAuthKeys(userId: string): Promise<AuthKey[]>;
  revokeAuthKey(id: string, now: number): Promise<AuthKey>;
  /** auth-key-unknown, -revoked, -expired or -used; else records the use and returns the key. */
  consumeAuthKey(secret: string, now: number): Promise<AuthKey>;

  // --- devices ---
  /**
   * Registers a machine for `userId`. A machine already known (same machine key) for that user is
   * re-authenticated instead: new node and disco keys, new key expiry, same id, name and addresses.
   * Known for another user, its old device is removed first: a machine is one device.
   */
  registerDevice(input: NewDevice, now: number): Promise<Device>;
  /** consumeAuthKey and registerDevice (as the key's user, with its tags and ephemerality) at once. */
  registerDeviceWithAuthKey(secret: string, input: DeviceIdentity, now: number): Promise<Device>;
  getDevice(id: string): Promise<Device>;
  findDeviceByMachineKey(machineKey: string): Promise<Device | null>;
  findDeviceByNodeKey(nodeKey: string): Promise<Device | null>;
  /** Ordered by name. */
  listDevices(networkId: string): Promise<Device[]>;
  listUserDevices(userId: string): Promise<Device[]>;
  /** `name` must be a lower-case DNS label; duplicate-name if taken in the network. */
  renameDevice(id: string, name: string, now: number): Promise<Device>;
  /** Also ends the device's shares and invites. */
  deleteDevice(id: string, now: number): Promise<void>;
  rotateNodeKey(id: string, nodeKey: string, now: number): Promise<Device>;
  /** Extends the key expiry (default DEFAULTS.deviceKeyLifetimeMs from now). */
  reauthenticateDevice(id: string, now: number, keyExpiry?: number | null): Promise<Device>;
  /**
   * Changes to `online`, `endpoints` or `homeRelay` reach the change feed; `lastSeen` alone does
   * not. invalid (and nothing set) if any field is malformed.
   */
  setDeviceStatus(id: string, status: DeviceStatus, now: number): Promise<Device>;
  setAdvertisedRoutes(id: string, routes: RouteOffer, now: number): Promise<Device>;
  approveRoutes(id: string, routes: RouteOffer, now: number): Promise<Device>;

  // --- sharing ---
  /** By the device's owner; `code` is returned only here. */
  createInvite(input: NewInvite, now: number): Promise<{ invite: Invite; code: string }>;
  /** Incoming: invites naming the user. Outgoing: invites the user made. Newest first. */
  listInvites(userId: string, now: number): Promise<{ incoming: Invite[]; outgoing: Invite[] }>;
  /**
   * By code (a link invite, or a named one by its recipient) or by id (a named invite, by its
   * recipient). Accepting a device already shared with the user returns the existing share.
   */
  acceptInvite(ref: InviteRef, recipientUserId: string, now: number): Promise<Share>;
  declineInvite(id: string, recipientUserId: string, now: number): Promise<Invite>;
  /**
   * By the owner: the invite and every share made from it end. By a recipient: their share ends
   * (a pending named invite is declined); a single-use invite becomes revoked.
   */
  revokeInvite(id: string, byUserId: string, now: number): Promise<Invite>;
  /** Ends one share, by the device's owner or the recipient. */
  revokeShare(id: string, byUserId: string, now: number): Promise<void>;
  listAcceptedShares(recipientUserId: string): Promise<Share[]>;
  sharesOfDevice(deviceId: string): Promise<Share[]>;
  /** Every accepted share on the server (the coordinator loads them once and follows the feed). */
  listShares(): Promise<Share[]>;

  // --- policy ---
  /** null until a policy was set; the policy layer supplies the default. */
  getPolicy(networkId: string): Promise<Policy | null>;
  setPolicy(networkId: string, text: string, now: number): Promise<Policy>;

  // --- DNS ---
  /** The network's DNS settings (none until set). not-found if the network is missing. */
  getDnsSettings(networkId: string): Promise<NetworkDns>;
  /**
   * Replaces them whole, in normal form (src/control/dns-settings.ts checkDnsSettings, against the
   * network's own resolver address and, when given, the base domain); invalid, naming the field,
   * and nothing changed, if any part is bad.
   */
  setDnsSettings(
    networkId: string,
    settings: DnsSettings,
    now: number,
    baseDomain?: string,
  ): Promise<NetworkDns>;

  // --- admin API keys ---
  /** `secret` is returned only here. not-found if the network is missing; invalid if already expired. */
  createApiKey(input: NewApiKey, now: number): Promise<{ apiKey: ApiKey; secret: string }>;
  /** Expired ones too, until revoked. */
  listApiKeys(): Promise<ApiKey[]>;
  /** api-key-unknown or api-key-expired; else records the use and returns the key. */
  verifyApiKey(secret: string, now: number): Promise<ApiKey>;
  /** Deletes the key: it is unknown from then on. */
  revokeApiKey(id: string): Promise<void>;

  // --- interactive login ---
  createLoginSession(input: NewLoginSession, now: number): Promise<LoginSession>;
  /** Returned even when expired or completed: the waiting device polls it for the outcome. */
  getLoginSession(id: string): Promise<LoginSession>;
  /** Of these sessions, the completed ones with the device each registered, in one query. */
  completedLoginSessions(ids: readonly string[]): Promise<Map<string, string>>;
  /** Registers (or re-authenticates) the waiting device for `userId`. login-expired, login-completed. */
  completeLoginSession(
    id: string,
    userId: string,
    now: number,
  ): Promise<{ session: LoginSession; device: Device }>;
  /** Ends a session early (the user cancelled). */
  expireLoginSession(id: string, now: number): Promise<void>;
  /** Housekeeping: deletes sessions past their expiry; returns how many. */
  deleteExpiredLoginSessions(now: number): Promise<number>;

  // --- change feed ---
  /** The seq of the last change anywhere; 0 before the first. */
  currentSeq(): Promise<number>;
  /**
   * The network's changes after `seq`, in order; null when they cannot all be given (pruned, or
   * `seq` is ahead of the store), and the caller must send a full map.
   */
  changesSince(networkId: string, seq: number): Promise<ChangeRecord[] | null>;
  /** Every network's changes after `seq`, in order; null as for changesSince. */
  changesAfter(seq: number): Promise<ChangeRecord[] | null>;
  /** Housekeeping: forgets changes recorded before `before`; returns how many. */
  pruneChanges(before: number): Promise<number>;
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
