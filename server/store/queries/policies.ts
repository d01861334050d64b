import type { Sql } from '../sql.js';
import type { Policy } from '../types.js';
import * as changes from './changes.js';
import * as networks from './networks.js';

interface Row {
  network_id: string;
  text: string;
  updated_at: number;
}

const toPolicy = (r: Row): Policy => ({ networkId: r.network_id, text: r.text, updatedAt: r.updated_at });

export async function get(sql: Sql, networkId: string): Promise<Policy | null> {
  const row = await sql.get<Row>('SELECT * FROM policies WHERE network_id = ?', networkId);
  return row ? toPolicy(row) : null;
}

/** Stored verbatim: parsing and checking the HuJSON is the policy layer's job, before it calls this. */
export async function set(sql: Sql, networkId: string, text: string, now: number): Promise<Policy> {
  return sql.write(async () => {
    await networks.get(sql, networkId);
    const row: Row = { network_id: networkId, text, updated_at: now };
    await sql.run(
      `INSERT INTO policies (network_id, text, updated_at) VALUES (@network_id, @text, @updated_at)
       ON CONFLICT (network_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
      { ...row },
    );
    await changes.record(sql, [networkId], 'policy-changed', null, now);
    return toPolicy(row);
  });
}
