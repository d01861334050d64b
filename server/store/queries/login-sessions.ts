import type { Ipv4Pool } from '../addresses.js';
import { StoreError } from '../errors.js';
import { randomId } from '../secrets.js';
import type { Sql } from '../sql.js';
import type { NewLoginSession } from '../store.js';
import { DEFAULTS, type Device, type LoginSession } from '../types.js';
import { checkKey } from '../validate.js';
import * as devices from './devices.js';

interface Row {
  id: string;
  machine_key: string;
  node_key: string;
  disco_key: string;
  hostname: string;
  requested_from: string;
  created_at: number;
  expires_at: number;
  user_id: string | null;
  completed_device_id: string | null;
}

const toSession = (r: Row): LoginSession => ({
  id: r.id,
  machineKey: r.machine_key,
  nodeKey: r.node_key,
  discoKey: r.disco_key,
  hostname: r.hostname,
  requestedFrom: r.requested_from,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  userId: r.user_id,
  completedDeviceId: r.completed_device_id,
});

export async function create(sql: Sql, input: NewLoginSession, now: number): Promise<LoginSession> {
  checkKey('machine key', input.machineKey);
  checkKey('node key', input.nodeKey);
  checkKey('disco key', input.discoKey);
  return sql.write(async () => {
    // 192 bits: the id in the URL is all it takes to attach the machine to whoever signs in there.
    const row: Row = {
      id: randomId(24),
      machine_key: input.machineKey,
      node_key: input.nodeKey,
      disco_key: input.discoKey,
      hostname: input.hostname,
      requested_from: (input.requestedFrom ?? '').slice(0, 64),
      created_at: now,
      expires_at: input.expiresAt ?? now + DEFAULTS.loginSessionLifetimeMs,
      user_id: null,
      completed_device_id: null,
    };
    await sql.run(
      `INSERT INTO login_sessions
         (id, machine_key, node_key, disco_key, hostname, requested_from, created_at, expires_at)
       VALUES (@id, @machine_key, @node_key, @disco_key, @hostname, @requested_from, @created_at, @expires_at)`,
      { ...row },
    );
    return toSession(row);
  });
}

export async function get(sql: Sql, id: string): Promise<LoginSession> {
  return toSession(await row(sql, id));
}

export async function completed(sql: Sql, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  // One statement for any number of sessions: the ids travel as one parameter.
  const { condition, param } = sql.inList('id', ids);
  const rows = await sql.all<{ id: string; completed_device_id: string }>(
    `SELECT id, completed_device_id FROM login_sessions
     WHERE ${condition} AND completed_device_id IS NOT NULL`,
    param,
  );
  return new Map(rows.map((r) => [r.id, r.completed_device_id]));
}

/** The sign-in and the device it registers commit together: no signed-in session without its device. */
export async function complete(
  sql: Sql,
  pool: Ipv4Pool,
  id: string,
  userId: string,
  now: number,
): Promise<{ session: LoginSession; device: Device }> {
  return sql.write(async () => {
    const session = await row(sql, id);
    if (session.user_id !== null) throw new StoreError('login-completed', 'this login was already completed');
    if (now >= session.expires_at) throw new StoreError('login-expired', 'this login has expired');
    const device = await devices.register(
      sql,
      pool,
      {
        userId,
        machineKey: session.machine_key,
        nodeKey: session.node_key,
        discoKey: session.disco_key,
        hostname: session.hostname,
      },
      now,
    );
    await sql.run(
      'UPDATE login_sessions SET user_id = ?, completed_device_id = ? WHERE id = ?',
      userId,
      device.id,
      id,
    );
    return { session: await get(sql, id), device };
  });
}

export async function expire(sql: Sql, id: string, now: number): Promise<void> {
  return sql.write(async () => {
    await row(sql, id);
    await sql.run(
      'UPDATE login_sessions SET expires_at = CASE WHEN expires_at > @now THEN @now ELSE expires_at END WHERE id = @id',
      { now, id },
    );
  });
}

export async function deleteExpired(sql: Sql, now: number): Promise<number> {
  return sql.write(async () => await sql.run('DELETE FROM login_sessions WHERE expires_at <= ?', now));
}

async function row(sql: Sql, id: string): Promise<Row> {
  const r = await sql.get<Row>('SELECT * FROM login_sessions WHERE id = ?', id);
  if (!r) throw new StoreError('not-found', `no login session ${id}`);
  return r;
}
