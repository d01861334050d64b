import { AsyncLocalStorage } from 'node:async_hooks';
import type { DnsSettings } from '../../src/control/dns-settings.js';
import type { Ipv4Pool } from './addresses.js';
import * as apiKeys from './queries/api-keys.js';
import * as authKeys from './queries/auth-keys.js';
import * as changes from './queries/changes.js';
import * as devices from './queries/devices.js';
import * as invites from './queries/invites.js';
import * as logins from './queries/login-sessions.js';
import * as networkDns from './queries/network-dns.js';
import * as networks from './queries/networks.js';
import * as policies from './queries/policies.js';
import * as users from './queries/users.js';
import type { Sql } from './sql.js';
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

/**
 * The Store over either back end's `Sql` (sql.ts); each concept's queries live in ./queries/, written
 * once for both dialects. `transaction()` keeps this store's other calls waiting while it is open,
 * so they neither join it nor see it half done (PostgreSQL runs other calls on other connections,
 * which would not see it, but they would still see its writes only after it ended anyway, and may
 * not race it for the write lock; SQLite's one connection keeps them out on its own as well).
 */
export class SqlStore implements Store {
  constructor(
    private readonly sql: Sql,
    private readonly pool: Ipv4Pool,
  ) {}

  /** The async context of the transaction being run (store calls made inside it join it). */
  private readonly inside = new AsyncLocalStorage<true>();
  /** Settles when the open transaction ends; null while none is open. */
  private open: Promise<void> | null = null;

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return this.sql.write(fn);
    while (this.open !== null) await this.open;
    let end!: () => void;
    this.open = new Promise((resolve) => {
      end = resolve;
    });
    try {
      return await this.inside.run(true, () => this.sql.write(fn));
    } finally {
      this.open = null;
      end();
    }
  }

  async close(): Promise<void> {
    while (this.open !== null) await this.open;
    await this.sql.close();
  }

  /** Runs one query function, at once unless another caller's transaction is open (its own calls join it). */
  private async run<T>(query: () => Promise<T>): Promise<T> {
    if (!this.inside.getStore()) while (this.open !== null) await this.open;
    return query();
  }

  createNetwork(input: { name: string }, now: number) {
    return this.run(() => networks.create(this.sql, input.name, now));
  }
  getNetwork(id: string) {
    return this.run(() => networks.get(this.sql, id));
  }
  findNetworkByName(name: string) {
    return this.run(() => networks.findByName(this.sql, name));
  }
  listNetworks() {
    return this.run(() => networks.list(this.sql));
  }

  createUser(input: NewUser, now: number) {
    return this.run(() => users.create(this.sql, input, now));
  }
  getUser(id: string) {
    return this.run(() => users.get(this.sql, id));
  }
  findUserByName(name: string) {
    return this.run(() => users.findByName(this.sql, name));
  }
  listUsers(networkId: string) {
    return this.run(() => users.list(this.sql, networkId));
  }
  setPassword(id: string, password: string) {
    return this.run(() => users.setPassword(this.sql, id, password));
  }
  verifyPassword(name: string, password: string) {
    // The read happens at once (or after an open transaction); the hash then runs off the event loop.
    return this.run(() => users.verifyPassword(this.sql, name, password)).then((verdict) => verdict);
  }

  createAuthKey(input: NewAuthKey, now: number) {
    return this.run(() => authKeys.create(this.sql, input, now));
  }
  listAuthKeys(userId: string) {
    return this.run(() => authKeys.listForUser(this.sql, userId));
  }
  revokeAuthKey(id: string, now: number) {
    return this.run(() => authKeys.revoke(this.sql, id, now));
  }
  consumeAuthKey(secret: string, now: number) {
    return this.run(() => authKeys.consume(this.sql, secret, now));
  }

  registerDevice(input: NewDevice, now: number) {
    return this.run(() => devices.register(this.sql, this.pool, input, now));
  }
  registerDeviceWithAuthKey(secret: string, input: DeviceIdentity, now: number) {
    return this.run(() => devices.registerWithAuthKey(this.sql, this.pool, secret, input, now));
  }
  getDevice(id: string) {
    return this.run(() => devices.get(this.sql, id));
  }
  findDeviceByMachineKey(machineKey: string) {
    return this.run(() => devices.findByMachineKey(this.sql, machineKey));
  }
  findDeviceByNodeKey(nodeKey: string) {
    return this.run(() => devices.findByNodeKey(this.sql, nodeKey));
  }
  listDevices(networkId: string) {
    return this.run(() => devices.listInNetwork(this.sql, networkId));
  }
  listUserDevices(userId: string) {
    return this.run(() => devices.listForUser(this.sql, userId));
  }
  renameDevice(id: string, name: string, now: number) {
    return this.run(() => devices.rename(this.sql, id, name, now));
  }
  deleteDevice(id: string, now: number) {
    return this.run(() => devices.remove(this.sql, id, now));
  }
  rotateNodeKey(id: string, nodeKey: string, now: number) {
    return this.run(() => devices.rotateNodeKey(this.sql, id, nodeKey, now));
  }
  reauthenticateDevice(id: string, now: number, keyExpiry?: number | null) {
    return this.run(() => devices.reauthenticate(this.sql, id, now, keyExpiry));
  }
  setDeviceStatus(id: string, status: DeviceStatus, now: number) {
    return this.run(() => devices.setStatus(this.sql, id, status, now));
  }
  setAdvertisedRoutes(id: string, routes: RouteOffer, now: number) {
    return this.run(() => devices.setAdvertisedRoutes(this.sql, id, routes, now));
  }
  approveRoutes(id: string, routes: RouteOffer, now: number) {
    return this.run(() => devices.approveRoutes(this.sql, id, routes, now));
  }

  createInvite(input: NewInvite, now: number) {
    return this.run(() => invites.create(this.sql, input, now));
  }
  listInvites(userId: string, now: number) {
    return this.run(() => invites.listForUser(this.sql, userId, now));
  }
  acceptInvite(ref: InviteRef, recipientUserId: string, now: number) {
    return this.run(() => invites.accept(this.sql, ref, recipientUserId, now));
  }
  declineInvite(id: string, recipientUserId: string, now: number) {
    return this.run(() => invites.decline(this.sql, id, recipientUserId, now));
  }
  revokeInvite(id: string, byUserId: string, now: number) {
    return this.run(() => invites.revoke(this.sql, id, byUserId, now));
  }
  revokeShare(id: string, byUserId: string, now: number) {
    return this.run(() => invites.revokeShare(this.sql, id, byUserId, now));
  }
  listAcceptedShares(recipientUserId: string) {
    return this.run(() => invites.acceptedBy(this.sql, recipientUserId));
  }
  listShares() {
    return this.run(() => invites.all(this.sql));
  }
  sharesOfDevice(deviceId: string) {
    return this.run(() => invites.ofDevice(this.sql, deviceId));
  }

  getPolicy(networkId: string) {
    return this.run(() => policies.get(this.sql, networkId));
  }
  setPolicy(networkId: string, text: string, now: number) {
    return this.run(() => policies.set(this.sql, networkId, text, now));
  }

  getDnsSettings(networkId: string) {
    return this.run(() => networkDns.get(this.sql, networkId));
  }
  setDnsSettings(networkId: string, settings: DnsSettings, now: number, baseDomain?: string) {
    return this.run(() => networkDns.set(this.sql, networkId, settings, now, baseDomain));
  }

  createApiKey(input: NewApiKey, now: number) {
    return this.run(() => apiKeys.create(this.sql, input, now));
  }
  listApiKeys() {
    return this.run(() => apiKeys.list(this.sql));
  }
  verifyApiKey(secret: string, now: number) {
    return this.run(() => apiKeys.verify(this.sql, secret, now));
  }
  revokeApiKey(id: string) {
    return this.run(() => apiKeys.revoke(this.sql, id));
  }

  createLoginSession(input: NewLoginSession, now: number) {
    return this.run(() => logins.create(this.sql, input, now));
  }
  getLoginSession(id: string) {
    return this.run(() => logins.get(this.sql, id));
  }
  completedLoginSessions(ids: readonly string[]) {
    return this.run(() => logins.completed(this.sql, ids));
  }
  completeLoginSession(id: string, userId: string, now: number) {
    return this.run(() => logins.complete(this.sql, this.pool, id, userId, now));
  }
  expireLoginSession(id: string, now: number) {
    return this.run(() => logins.expire(this.sql, id, now));
  }
  deleteExpiredLoginSessions(now: number) {
    return this.run(() => logins.deleteExpired(this.sql, now));
  }

  currentSeq() {
    return this.run(() => changes.currentSeq(this.sql));
  }
  changesSince(networkId: string, seq: number) {
    return this.run(() => changes.changesSince(this.sql, networkId, seq));
  }
  changesAfter(seq: number) {
    return this.run(() => changes.changesAfter(this.sql, seq));
  }
  pruneChanges(before: number) {
    return this.run(() => changes.prune(this.sql, before));
  }
}
