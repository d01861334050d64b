import type { Policy } from '../types.js';
import * as changes from './changes.js';
import type { Sql } from './db.js';
import * as networks from './networks.js';

interface Row {
  network_id: string;
  text: string;
  updated_at: number;
}

const toPolicy = (r: Row): Policy => ({ networkId: r.network_id, text: r.text, updatedAt: r.updated_at });

export function get(sql: Sql, networkId: string): Policy | null {
  const row = sql.get<Row>('SELECT * FROM policies WHERE network_id = ?', networkId);
  return row ? toPolicy(row) : null;
}

/** Stored verbatim: parsing and checking the HuJSON is the policy layer's job, before it calls this. */
export function set(sql: Sql, networkId: string, text: string, now: number): Policy {
  return sql.write(() => {
    networks.get(sql, networkId);
    const row: Row = { network_id: networkId, text, updated_at: now };
    sql.run(
      `INSERT INTO policies (network_id, text, updated_at) VALUES (@network_id, @text, @updated_at)
       ON CONFLICT (network_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
      { ...row },
    );
    changes.record(sql, [networkId], 'policy-changed', null, now);
    return toPolicy(row);
  });
}
