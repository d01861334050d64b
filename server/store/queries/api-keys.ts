import { StoreError } from '../errors.js';
import { newSecret, randomId, secretHash } from '../secrets.js';
import type { Sql } from '../sql.js';
import type { NewApiKey } from '../store.js';
import { type ApiKey, DEFAULTS } from '../types.js';
import * as networks from './networks.js';

interface Row {
  id: string;
  prefix: string;
  network_id: string | null;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
}

const COLUMNS = 'id, prefix, network_id, created_at, expires_at, last_used_at';

const toApiKey = (r: Row): ApiKey => ({
  id: r.id,
  prefix: r.prefix,
  networkId: r.network_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
});

export async function create(
  sql: Sql,
  input: NewApiKey,
  now: number,
): Promise<{ apiKey: ApiKey; secret: string }> {
  return sql.write(async () => {
    const network = await networks.get(sql, input.networkId);
    const expiresAt = input.expiresAt ?? now + DEFAULTS.apiKeyLifetimeMs;
    if (expiresAt <= now) throw new StoreError('invalid', 'an API key must expire after it is made');
    const { secret, prefix, hash } = newSecret('bapi');
    const row: Row = {
      id: randomId(),
      prefix,
      network_id: network.id,
      created_at: now,
      expires_at: expiresAt,
      last_used_at: null,
    };
    await sql.run(
      `INSERT INTO api_keys (${COLUMNS}, hash)
       VALUES (@id, @prefix, @network_id, @created_at, @expires_at, @last_used_at, @hash)`,
      { ...row, hash },
    );
    return { apiKey: toApiKey(row), secret };
  });
}

export async function list(sql: Sql): Promise<ApiKey[]> {
  return (await sql.all<Row>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`)).map(toApiKey);
}

export async function verify(sql: Sql, secret: string, now: number): Promise<ApiKey> {
  return sql.write(async () => {
    const hash = secretHash('bapi', secret);
    const row =
      hash === null ? undefined : await sql.get<Row>(`SELECT ${COLUMNS} FROM api_keys WHERE hash = ?`, hash);
    if (!row) throw new StoreError('api-key-unknown', 'unknown API key');
    if (now >= row.expires_at) throw new StoreError('api-key-expired', `API key ${row.prefix} has expired`);
    await sql.run('UPDATE api_keys SET last_used_at = ? WHERE id = ?', now, row.id);
    return toApiKey({ ...row, last_used_at: now });
  });
}

export async function revoke(sql: Sql, id: string): Promise<void> {
  return sql.write(async () => {
    if ((await sql.run('DELETE FROM api_keys WHERE id = ?', id)) === 0)
      throw new StoreError('not-found', `no API key ${id}`);
  });
}
