import type { DnsSettings } from '../../src/control/dns-settings.js';
import { DEFAULT_IPV4_POOL, type Ipv4Pool, parseIpv4Pool } from './addresses.js';
import { migrate } from './migrations.js';
import * as apiKeys from './sqlite/api-keys.js';
import * as authKeys from './sqlite/auth-keys.js';
import * as changes from './sqlite/changes.js';
import { openDatabase, Sql } from './sqlite/db.js';
import * as devices from './sqlite/devices.js';
import * as invites from './sqlite/invites.js';
import * as logins from './sqlite/login-sessions.js';
import * as networkDns from './sqlite/network-dns.js';
import * as networks from './sqlite/networks.js';
import * as policies from './sqlite/policies.js';
import * as users from './sqlite/users.js';
import type {
  DeviceIdentity,
  DeviceStatus,
  InviteRef,
  NewApiKey,
  NewAuthKey,
  NewDevice,
  NewInvite,
  NewLoginSession,
  NewUser,
  RouteOffer,
  Store,
} from './store.js';

export interface SqliteStoreOptions {
  /** The database file, created (mode 0600, directory 0700) if missing. */
  path: string;
  /** Where device IPv4 addresses come from, server-wide. Default 100.64.0.0/10. */
  ipv4Pool?: string;
  /** Stamps the schema_version rows of migrations run now. Default Date.now(). */
  now?: number;
}

/** Opens the file, brings its schema up to date, and returns the Store over it. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const pool = parseIpv4Pool(options.ipv4Pool ?? DEFAULT_IPV4_POOL);
  const db = openDatabase(options.path);
  try {
    migrate(db, options.now ?? Date.now());
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStore(new Sql(db), pool);
}

/** The Store on one better-sqlite3 connection; each concept's queries live in ./sqlite/. */
export class SqliteStore implements Store {
  constructor(
    private readonly sql: Sql,
    private readonly pool: Ipv4Pool,
  ) {}

  transaction<T>(fn: () => T): T {
    return this.sql.write(fn);
  }

  close(): void {
    this.sql.db.close();
  }

  createNetwork(input: { name: string }, now: number) {
    return networks.create(this.sql, input.name, now);
  }
  getNetwork(id: string) {
    return networks.get(this.sql, id);
  }
  findNetworkByName(name: string) {
    return networks.findByName(this.sql, name);
  }
  listNetworks() {
    return networks.list(this.sql);
  }

  createUser(input: NewUser, now: number) {
    return users.create(this.sql, input, now);
  }
  getUser(id: string) {
    return users.get(this.sql, id);
  }
  findUserByName(name: string) {
    return users.findByName(this.sql, name);
  }
  listUsers(networkId: string) {
    return users.list(this.sql, networkId);
  }
  setPassword(id: string, password: string) {
    return users.setPassword(this.sql, id, password);
  }
  verifyPassword(name: string, password: string) {
    return users.verifyPassword(this.sql, name, password);
  }

  createAuthKey(input: NewAuthKey, now: number) {
    return authKeys.create(this.sql, input, now);
  }
  listAuthKeys(userId: string) {
    return authKeys.listForUser(this.sql, userId);
  }
  revokeAuthKey(id: string, now: number) {
    return authKeys.revoke(this.sql, id, now);
  }
  consumeAuthKey(secret: string, now: number) {
    return authKeys.consume(this.sql, secret, now);
  }

  registerDevice(input: NewDevice, now: number) {
    return devices.register(this.sql, this.pool, input, now);
  }
  registerDeviceWithAuthKey(secret: string, input: DeviceIdentity, now: number) {
    return devices.registerWithAuthKey(this.sql, this.pool, secret, input, now);
  }
  getDevice(id: string) {
    return devices.get(this.sql, id);
  }
  findDeviceByMachineKey(machineKey: string) {
    return devices.findByMachineKey(this.sql, machineKey);
  }
  findDeviceByNodeKey(nodeKey: string) {
    return devices.findByNodeKey(this.sql, nodeKey);
  }
  listDevices(networkId: string) {
    return devices.listInNetwork(this.sql, networkId);
  }
  listUserDevices(userId: string) {
    return devices.listForUser(this.sql, userId);
  }
  renameDevice(id: string, name: string, now: number) {
    return devices.rename(this.sql, id, name, now);
  }
  deleteDevice(id: string, now: number) {
    devices.remove(this.sql, id, now);
  }
  rotateNodeKey(id: string, nodeKey: string, now: number) {
    return devices.rotateNodeKey(this.sql, id, nodeKey, now);
  }
  reauthenticateDevice(id: string, now: number, keyExpiry?: number | null) {
    return devices.reauthenticate(this.sql, id, now, keyExpiry);
  }
  setDeviceStatus(id: string, status: DeviceStatus, now: number) {
    return devices.setStatus(this.sql, id, status, now);
  }
  setAdvertisedRoutes(id: string, routes: RouteOffer, now: number) {
    return devices.setAdvertisedRoutes(this.sql, id, routes, now);
  }
  approveRoutes(id: string, routes: RouteOffer, now: number) {
    return devices.approveRoutes(this.sql, id, routes, now);
  }

  createInvite(input: NewInvite, now: number) {
    return invites.create(this.sql, input, now);
  }
  listInvites(userId: string, now: number) {
    return invites.listForUser(this.sql, userId, now);
  }
  acceptInvite(ref: InviteRef, recipientUserId: string, now: number) {
    return invites.accept(this.sql, ref, recipientUserId, now);
  }
  declineInvite(id: string, recipientUserId: string, now: number) {
    return invites.decline(this.sql, id, recipientUserId, now);
  }
  revokeInvite(id: string, byUserId: string, now: number) {
    return invites.revoke(this.sql, id, byUserId, now);
  }
  revokeShare(id: string, byUserId: string, now: number) {
    invites.revokeShare(this.sql, id, byUserId, now);
  }
  listAcceptedShares(recipientUserId: string) {
    return invites.acceptedBy(this.sql, recipientUserId);
  }
  listShares() {
    return invites.all(this.sql);
  }
  sharesOfDevice(deviceId: string) {
    return invites.ofDevice(this.sql, deviceId);
  }

  getPolicy(networkId: string) {
    return policies.get(this.sql, networkId);
  }
  setPolicy(networkId: string, text: string, now: number) {
    return policies.set(this.sql, networkId, text, now);
  }

  getDnsSettings(networkId: string) {
    return networkDns.get(this.sql, networkId);
  }
  setDnsSettings(networkId: string, settings: DnsSettings, now: number, baseDomain?: string) {
    return networkDns.set(this.sql, networkId, settings, now, baseDomain);
  }

  createApiKey(input: NewApiKey, now: number) {
    return apiKeys.create(this.sql, input, now);
  }
  listApiKeys() {
    return apiKeys.list(this.sql);
  }
  verifyApiKey(secret: string, now: number) {
    return apiKeys.verify(this.sql, secret, now);
  }
  revokeApiKey(id: string) {
    apiKeys.revoke(this.sql, id);
  }

  createLoginSession(input: NewLoginSession, now: number) {
    return logins.create(this.sql, input, now);
  }
  getLoginSession(id: string) {
    return logins.get(this.sql, id);
  }
  completedLoginSessions(ids: readonly string[]) {
    return logins.completed(this.sql, ids);
  }
  completeLoginSession(id: string, userId: string, now: number) {
    return logins.complete(this.sql, this.pool, id, userId, now);
  }
  expireLoginSession(id: string, now: number) {
    logins.expire(this.sql, id, now);
  }
  deleteExpiredLoginSessions(now: number) {
    return logins.deleteExpired(this.sql, now);
  }

  currentSeq() {
    return changes.currentSeq(this.sql);
  }
  changesSince(networkId: string, seq: number) {
    return changes.changesSince(this.sql, networkId, seq);
  }
  changesAfter(seq: number) {
    return changes.changesAfter(this.sql, seq);
  }
  pruneChanges(before: number) {
    return changes.prune(this.sql, before);
  }
}
