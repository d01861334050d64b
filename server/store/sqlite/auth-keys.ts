import { StoreError } from '../errors.js';
import { newSecret, randomId, secretHash } from '../secrets.js';
import type { NewAuthKey } from '../store.js';
import { type AuthKey, DEFAULTS } from '../types.js';
import { checkTags } from '../validate.js';
import { bool, json, list, type Sql } from './db.js';
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

export function create(sql: Sql, input: NewAuthKey, now: number): { authKey: AuthKey; secret: string } {
  const tags = checkTags(input.tags ?? []);
  return sql.write(() => {
    users.get(sql, input.userId);
    const { secret, prefix, hash } = newSecret('bkey');
    const id = randomId();
    sql.run(
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
    return { authKey: get(sql, id), secret };
  });
}

function get(sql: Sql, id: string): AuthKey {
  const row = sql.get<Row>('SELECT * FROM auth_keys WHERE id = ?', id);
  if (!row) throw new StoreError('not-found', `no auth key ${id}`);
  return toAuthKey(row);
}

export function listForUser(sql: Sql, userId: string): AuthKey[] {
  return sql
    .all<Row>('SELECT * FROM auth_keys WHERE user_id = ? ORDER BY created_at, id', userId)
    .map(toAuthKey);
}

/** Kept, marked revoked, so an attempt to use it says "revoked" rather than "unknown". */
export function revoke(sql: Sql, id: string, now: number): AuthKey {
  return sql.write(() => {
    get(sql, id);
    sql.run('UPDATE auth_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?', now, id);
    return get(sql, id);
  });
}

/**
 * Checks a presented key and records its use. Callers registering a device do both in one
 * transaction (devices.registerWithAuthKey), so a failed registration leaves the key unused.
 */
export function consume(sql: Sql, secret: string, now: number): AuthKey {
  return sql.write(() => {
    const hash = secretHash('bkey', secret);
    const row = hash === null ? undefined : sql.get<Row>('SELECT * FROM auth_keys WHERE hash = ?', hash);
    if (!row) throw new StoreError('auth-key-unknown', 'unknown auth key');
    if (row.revoked_at !== null)
      throw new StoreError('auth-key-revoked', `auth key ${row.prefix} was revoked`);
    if (now >= row.expires_at) throw new StoreError('auth-key-expired', `auth key ${row.prefix} has expired`);
    if (row.used_at !== null && row.reusable === 0) {
      throw new StoreError('auth-key-used', `single-use auth key ${row.prefix} was already used`);
    }
    sql.run('UPDATE auth_keys SET used_at = ? WHERE id = ?', now, row.id);
    return toAuthKey({ ...row, used_at: now });
  });
}
