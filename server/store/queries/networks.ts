import { randomUla } from '../addresses.js';
import { StoreError } from '../errors.js';
import { randomId } from '../secrets.js';
import type { Sql } from '../sql.js';
import type { Network } from '../types.js';
import { checkName } from '../validate.js';

interface Row {
  id: string;
  name: string;
  ula: string;
  created_at: number;
}

const toNetwork = (r: Row): Network => ({ id: r.id, name: r.name, ula: r.ula, createdAt: r.created_at });

export async function create(sql: Sql, name: string, now: number): Promise<Network> {
  checkName('network name', name);
  return sql.write(async () => {
    // 40 random bits: a collision needs ~a million networks to become likely; retry if it happens.
    let ula = randomUla();
    while (await sql.get('SELECT 1 FROM networks WHERE ula = ?', ula)) ula = randomUla();
    const row: Row = { id: randomId(), name, ula, created_at: now };
    await sql.run('INSERT INTO networks (id, name, ula, created_at) VALUES (@id, @name, @ula, @created_at)', {
      ...row,
    });
    return toNetwork(row);
  });
}

export async function get(sql: Sql, id: string): Promise<Network> {
  const row = await sql.get<Row>('SELECT * FROM networks WHERE id = ?', id);
  if (!row) throw new StoreError('not-found', `no network ${id}`);
  return toNetwork(row);
}

export async function findByName(sql: Sql, name: string): Promise<Network | null> {
  const row = await sql.get<Row>('SELECT * FROM networks WHERE name = ?', name);
  return row ? toNetwork(row) : null;
}

export async function list(sql: Sql): Promise<Network[]> {
  return (await sql.all<Row>('SELECT * FROM networks ORDER BY created_at, id')).map(toNetwork);
}
