import { StoreError } from '../errors.js';
import { decoyHash, hashPassword, verifyPasswordHash } from '../password.js';
import { randomId } from '../secrets.js';
import type { Sql } from '../sql.js';
import type { NewUser } from '../store.js';
import type { User } from '../types.js';
import { checkName, checkPassword } from '../validate.js';
import * as networks from './networks.js';

interface Row {
  id: string;
  name: string;
  network_id: string;
  password_hash: string | null;
  created_at: number;
}

const toUser = (r: Row): User => ({
  id: r.id,
  name: r.name,
  networkId: r.network_id,
  hasPassword: r.password_hash !== null,
  createdAt: r.created_at,
});

export async function create(sql: Sql, input: NewUser, now: number): Promise<User> {
  checkName('user name', input.name);
  // Hashing takes ~0.1 s: do it before taking the write lock.
  const passwordHash = input.password === undefined ? null : hashPassword(checkPassword(input.password));
  return sql.write(async () => {
    const networkId =
      input.networkId === undefined
        ? (await networks.create(sql, input.name, now)).id
        : (await networks.get(sql, input.networkId)).id;
    const row: Row = {
      id: randomId(),
      name: input.name,
      network_id: networkId,
      password_hash: passwordHash,
      created_at: now,
    };
    await sql.run(
      `INSERT INTO users (id, name, network_id, password_hash, created_at)
       VALUES (@id, @name, @network_id, @password_hash, @created_at)`,
      { ...row },
    );
    return toUser(row);
  });
}

/** Replaces the user's password (hashed before the write lock is taken, as in create). */
export async function setPassword(sql: Sql, id: string, password: string): Promise<User> {
  const passwordHash = hashPassword(checkPassword(password));
  return sql.write(async () => {
    if ((await sql.run('UPDATE users SET password_hash = ? WHERE id = ?', passwordHash, id)) === 0)
      throw new StoreError('not-found', `no user ${id}`);
    return await get(sql, id);
  });
}

export async function get(sql: Sql, id: string): Promise<User> {
  const row = await sql.get<Row>('SELECT * FROM users WHERE id = ?', id);
  if (!row) throw new StoreError('not-found', `no user ${id}`);
  return toUser(row);
}

export async function findByName(sql: Sql, name: string): Promise<User | null> {
  const row = await sql.get<Row>('SELECT * FROM users WHERE name = ?', name);
  return row ? toUser(row) : null;
}

export async function list(sql: Sql, networkId: string): Promise<User[]> {
  return (
    await sql.all<Row>('SELECT * FROM users WHERE network_id = ? ORDER BY created_at, id', networkId)
  ).map(toUser);
}

export async function verifyPassword(sql: Sql, name: string, password: string): Promise<User | null> {
  const row = await sql.get<Row>('SELECT * FROM users WHERE name = ?', name);
  const ok = await verifyPasswordHash(password, row?.password_hash ?? decoyHash());
  return ok && row?.password_hash ? toUser(row) : null;
}
