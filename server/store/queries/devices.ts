import { deviceIpv6, formatIpv4, type Ipv4Pool } from '../addresses.js';
import { StoreError } from '../errors.js';
import { randomId } from '../secrets.js';
import { bool, json, list, type Sql, type SqlValue } from '../sql.js';
import type { DeviceIdentity, DeviceStatus, NewDevice, RouteOffer } from '../store.js';
import { DEFAULTS, type Device } from '../types.js';
import { checkEndpoints, checkHomeRelay, checkKey, checkLabel, checkRoutes, checkTags } from '../validate.js';
import { allocateIpv4 } from './address-pool.js';
import * as authKeys from './auth-keys.js';
import * as changes from './changes.js';
import { freeDeviceName } from './device-names.js';
import * as networks from './networks.js';
import * as users from './users.js';

interface Row {
  id: string;
  network_id: string;
  user_id: string;
  name: string;
  machine_key: string;
  node_key: string;
  disco_key: string;
  ipv4: number;
  ipv6: string;
  tags: string;
  ephemeral: number;
  key_expiry: number | null;
  last_seen: number | null;
  online: number;
  endpoints: string;
  home_relay: number | null;
  advertised_routes: string;
  approved_routes: string;
  advertises_exit_node: number;
  exit_node_approved: number;
  created_at: number;
}

const toDevice = (r: Row): Device => ({
  id: r.id,
  networkId: r.network_id,
  userId: r.user_id,
  name: r.name,
  machineKey: r.machine_key,
  nodeKey: r.node_key,
  discoKey: r.disco_key,
  ipv4: formatIpv4(r.ipv4),
  ipv6: r.ipv6,
  tags: list(r.tags),
  ephemeral: r.ephemeral === 1,
  keyExpiry: r.key_expiry,
  lastSeen: r.last_seen,
  online: r.online === 1,
  endpoints: list(r.endpoints),
  homeRelay: r.home_relay,
  advertisedRoutes: list(r.advertised_routes),
  approvedRoutes: list(r.approved_routes),
  advertisesExitNode: r.advertises_exit_node === 1,
  exitNodeApproved: r.exit_node_approved === 1,
  createdAt: r.created_at,
});

export async function register(sql: Sql, pool: Ipv4Pool, input: NewDevice, now: number): Promise<Device> {
  checkKey('machine key', input.machineKey);
  checkKey('node key', input.nodeKey);
  checkKey('disco key', input.discoKey);
  const tags = checkTags(input.tags ?? []);
  const keyExpiry = input.keyExpiry === undefined ? now + DEFAULTS.deviceKeyLifetimeMs : input.keyExpiry;
  return sql.write(async () => {
    const user = await users.get(sql, input.userId);
    const known = await sql.get<Row>('SELECT * FROM devices WHERE machine_key = ?', input.machineKey);
    if (known?.user_id === user.id) {
      await update(
        sql,
        known.id,
        { node_key: input.nodeKey, disco_key: input.discoKey, key_expiry: keyExpiry },
        now,
      );
      return await get(sql, known.id);
    }
    if (known) await remove(sql, known.id, now);
    const network = await networks.get(sql, user.networkId);
    const { name, base, suffix } = await freeDeviceName(sql, network.id, input.hostname);
    const ipv4 = await allocateIpv4(sql, pool);
    const id = randomId();
    await sql.run(
      `INSERT INTO devices (id, network_id, user_id, name, name_base, name_suffix, machine_key, node_key,
         disco_key, ipv4, ipv6, tags, ephemeral, key_expiry, last_seen, online, endpoints,
         advertised_routes, approved_routes, advertises_exit_node, exit_node_approved, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, '[]', '[]', '[]', 0, 0, ?)`,
      id,
      network.id,
      user.id,
      name,
      base,
      suffix,
      input.machineKey,
      input.nodeKey,
      input.discoKey,
      ipv4,
      deviceIpv6(network.ula, ipv4),
      json(tags),
      bool(input.ephemeral ?? false),
      keyExpiry,
      now,
    );
    await changes.record(sql, [network.id], 'device-added', id, now);
    return await get(sql, id);
  });
}

/** The key's use and the registration commit together: if registering fails, the key is unspent. */
export async function registerWithAuthKey(
  sql: Sql,
  pool: Ipv4Pool,
  secret: string,
  identity: DeviceIdentity,
  now: number,
): Promise<Device> {
  return sql.write(async () => {
    const key = await authKeys.consume(sql, secret, now);
    return register(
      sql,
      pool,
      { ...identity, userId: key.userId, ephemeral: key.ephemeral, tags: key.tags },
      now,
    );
  });
}

export async function get(sql: Sql, id: string): Promise<Device> {
  const row = await sql.get<Row>('SELECT * FROM devices WHERE id = ?', id);
  if (!row) throw new StoreError('not-found', `no device ${id}`);
  return toDevice(row);
}

export async function findByMachineKey(sql: Sql, machineKey: string): Promise<Device | null> {
  const row = await sql.get<Row>('SELECT * FROM devices WHERE machine_key = ?', machineKey);
  return row ? toDevice(row) : null;
}

export async function findByNodeKey(sql: Sql, nodeKey: string): Promise<Device | null> {
  const row = await sql.get<Row>('SELECT * FROM devices WHERE node_key = ?', nodeKey);
  return row ? toDevice(row) : null;
}

export async function listInNetwork(sql: Sql, networkId: string): Promise<Device[]> {
  return (await sql.all<Row>('SELECT * FROM devices WHERE network_id = ? ORDER BY name', networkId)).map(
    toDevice,
  );
}

export async function listForUser(sql: Sql, userId: string): Promise<Device[]> {
  return (await sql.all<Row>('SELECT * FROM devices WHERE user_id = ? ORDER BY name', userId)).map(toDevice);
}

/** An admin's choice is kept as typed (a label), or refused: duplicate-name, never "name-1". */
export async function rename(sql: Sql, id: string, name: string, now: number): Promise<Device> {
  checkLabel(name);
  return sql.write(async () => {
    await update(sql, id, { name, name_base: name, name_suffix: 0 }, now);
    return await get(sql, id);
  });
}

/** Its invites and shares go with it (ON DELETE CASCADE); login sessions forget it. */
export async function remove(sql: Sql, id: string, now: number): Promise<void> {
  return sql.write(async () => {
    await get(sql, id);
    const audience = await changes.audience(sql, id);
    await sql.run('DELETE FROM devices WHERE id = ?', id);
    await changes.record(sql, audience, 'device-removed', id, now);
  });
}

export async function rotateNodeKey(sql: Sql, id: string, nodeKey: string, now: number): Promise<Device> {
  checkKey('node key', nodeKey);
  return sql.write(async () => {
    await update(sql, id, { node_key: nodeKey }, now);
    return await get(sql, id);
  });
}

export async function reauthenticate(
  sql: Sql,
  id: string,
  now: number,
  keyExpiry?: number | null,
): Promise<Device> {
  return sql.write(async () => {
    await update(
      sql,
      id,
      { key_expiry: keyExpiry === undefined ? now + DEFAULTS.deviceKeyLifetimeMs : keyExpiry },
      now,
    );
    return await get(sql, id);
  });
}

/**
 * Devices report in often; only what peers act on (reachability, endpoints, home relay) goes to the
 * change feed, and only when it changed. lastSeen is shown in lists, not pushed. Everything is
 * checked before anything is written.
 */
export async function setStatus(sql: Sql, id: string, status: DeviceStatus, now: number): Promise<Device> {
  const endpoints = status.endpoints && checkEndpoints(status.endpoints);
  const homeRelay = status.homeRelay === undefined ? undefined : checkHomeRelay(status.homeRelay);
  return sql.write(async () => {
    const before = await get(sql, id);
    const set: Record<string, SqlValue> = {};
    if (status.online !== undefined && status.online !== before.online) set.online = bool(status.online);
    if (endpoints && json(endpoints) !== json(before.endpoints)) set.endpoints = json(endpoints);
    if (homeRelay !== undefined && homeRelay !== before.homeRelay) set.home_relay = homeRelay;
    if (Object.keys(set).length > 0) await update(sql, id, set, now);
    if (status.lastSeen !== undefined)
      await sql.run('UPDATE devices SET last_seen = ? WHERE id = ?', status.lastSeen, id);
    return await get(sql, id);
  });
}

export async function setAdvertisedRoutes(
  sql: Sql,
  id: string,
  offer: RouteOffer,
  now: number,
): Promise<Device> {
  const routes = checkRoutes(offer.routes);
  return sql.write(async () => {
    await update(
      sql,
      id,
      { advertised_routes: json(routes), advertises_exit_node: bool(offer.exitNode) },
      now,
    );
    return await get(sql, id);
  });
}

/** Approval is kept as given; a route is in effect only while also advertised (the netmap decides). */
export async function approveRoutes(
  sql: Sql,
  id: string,
  approval: RouteOffer,
  now: number,
): Promise<Device> {
  const routes = checkRoutes(approval.routes);
  return sql.write(async () => {
    await update(
      sql,
      id,
      { approved_routes: json(routes), exit_node_approved: bool(approval.exitNode) },
      now,
    );
    return await get(sql, id);
  });
}

/** Sets columns (names from this file only, never from input) and tells everyone who sees the device. */
async function update(sql: Sql, id: string, set: Record<string, SqlValue>, now: number): Promise<void> {
  const assignments = Object.keys(set)
    .map((column) => `${column} = @${column}`)
    .join(', ');
  if ((await sql.run(`UPDATE devices SET ${assignments} WHERE id = @id`, { ...set, id })) === 0) {
    throw new StoreError('not-found', `no device ${id}`);
  }
  await changes.record(sql, await changes.audience(sql, id), 'device-changed', id, now);
}
