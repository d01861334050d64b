import { StoreError } from '../errors.js';
import { newSecret, randomId, secretHash } from '../secrets.js';
import { bool, json, list, type Sql } from '../sql.js';
import type { NewAuthKey } from '../store.js';
import { type AuthKey, DEFAULTS } from '../types.js';
import { checkTags } from '../validate.js';
import * as users from './users.js';

interface Row {
  id: string;
  user_id: string;
  prefix: string;
  reusable: number;
  ephemeral: number;
  tags: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
}

const toAuthKey = (r: Row): AuthKey => ({
  id: r.id,
  userId: r.user_id,
  prefix: r.prefix,
  reusable: r.reusable === 1,
  ephemeral: r.ephemeral === 1,
  tags: list(r.tags),
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
  revokedAt: r.revoked_at,
});

export async function create(
  sql: Sql,
  input: NewAuthKey,
  now: number,
): Promise<{ authKey: AuthKey; secret: string }> {
  const tags = checkTags(input.tags ?? []);
  return sql.write(async () => {
    await users.get(sql, input.userId);
    const { secret, prefix, hash } = newSecret('bkey');
    const id = randomId();
    await sql.run(
      `INSERT INTO auth_keys (id, user_id, prefix, hash, reusable, ephemeral, tags, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      input.userId,
      prefix,
      hash,
      bool(input.reusable ?? false),
      bool(input.ephemeral ?? false),
      json(tags),
      now,
      input.expiresAt ?? now + DEFAULTS.authKeyLifetimeMs,
    );
    return { authKey: await get(sql, id), secret };
  });
}

async function get(sql: Sql, id: string): Promise<AuthKey> {
  const row = await sql.get<Row>('SELECT * FROM auth_keys WHERE id = ?', id);
  if (!row) throw new StoreError('not-found', `no auth key ${id}`);
  return toAuthKey(row);
}

export async function listForUser(sql: Sql, userId: string): Promise<AuthKey[]> {
  return (
    await sql.all<Row>('SELECT * FROM auth_keys WHERE user_id = ? ORDER BY created_at, id', userId)
  ).map(toAuthKey);
}

/** Kept, marked revoked, so an attempt to use it says "revoked" rather than "unknown". */
export async function revoke(sql: Sql, id: string, now: number): Promise<AuthKey> {
  return sql.write(async () => {
    await get(sql, id);
    await sql.run('UPDATE auth_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?', now, id);
    return await get(sql, id);
  });
}

/**
 * Checks a presented key and records its use. Callers registering a device do both in one
 * transaction (devices.registerWithAuthKey), so a failed registration leaves the key unused.
 */
export async function consume(sql: Sql, secret: string, now: number): Promise<AuthKey> {
  return sql.write(async () => {
    const hash = secretHash('bkey', secret);
    const row =
      hash === null ? undefined : await sql.get<Row>('SELECT * FROM auth_keys WHERE hash = ?', hash);
    if (!row) throw new StoreError('auth-key-unknown', 'unknown auth key');
    if (row.revoked_at !== null)
      throw new StoreError('auth-key-revoked', `auth key ${row.prefix} was revoked`);
    if (now >= row.expires_at) throw new StoreError('auth-key-expired', `auth key ${row.prefix} has expired`);
    if (row.used_at !== null && row.reusable === 0) {
      throw new StoreError('auth-key-used', `single-use auth key ${row.prefix} was already used`);
    }
    await sql.run('UPDATE auth_keys SET used_at = ? WHERE id = ?', now, row.id);
    return toAuthKey({ ...row, used_at: now });
  });
}
