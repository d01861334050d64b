import type { ChangeKind, ChangeRecord } from '../types.js';
import type { Sql } from './db.js';

/**
 * The change feed. Writers call `record` inside their own transaction, so a change and its record
 * commit together or not at all: a server restarted after a crash, or a device reconnecting with
 * "since N", never misses one. SQLite commits one writer at a time, so seq order is commit order
 * (a PostgreSQL version must keep that, e.g. by taking seq from a row locked by the transaction,
 * since sequence values there can commit out of order).
 */

/** The highest seq pruned so far: history after it is complete. */
const HORIZON = 'changes_horizon';

export function record(
  sql: Sql,
  networkIds: Iterable<string>,
  kind: ChangeKind,
  deviceId: string | null,
  now: number,
): void {
  for (const networkId of new Set(networkIds)) {
    sql.run(
      'INSERT INTO changes (network_id, kind, device_id, created_at) VALUES (?, ?, ?, ?)',
      networkId,
      kind,
      deviceId,
      now,
    );
  }
}

/**
 * Networks whose maps show the device: its own, and those of users it is shared with (whose
 * devices see it as a peer). Read before a removal, while the shares still exist.
 */
export function audience(sql: Sql, deviceId: string): string[] {
  return sql
    .all<{ network_id: string }>(
      `SELECT network_id FROM devices WHERE id = ?
       UNION
       SELECT u.network_id FROM shares s JOIN users u ON u.id = s.recipient_user_id WHERE s.device_id = ?`,
      deviceId,
      deviceId,
    )
    .map((r) => r.network_id);
}

export function currentSeq(sql: Sql): number {
  return sql.get<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")?.seq ?? 0;
}

type ChangeRow = {
  seq: number;
  network_id: string;
  kind: ChangeKind;
  device_id: string | null;
  created_at: number;
};

const toRecord = (r: ChangeRow): ChangeRecord => ({
  seq: r.seq,
  networkId: r.network_id,
  kind: r.kind,
  deviceId: r.device_id,
  createdAt: r.created_at,
});

export function changesSince(sql: Sql, networkId: string, seq: number): ChangeRecord[] | null {
  if (seq < (sql.meta(HORIZON) ?? 0) || seq > currentSeq(sql)) return null;
  return sql
    .all<ChangeRow>('SELECT * FROM changes WHERE network_id = ? AND seq > ? ORDER BY seq', networkId, seq)
    .map(toRecord);
}

export function changesAfter(sql: Sql, seq: number): ChangeRecord[] | null {
  if (seq < (sql.meta(HORIZON) ?? 0) || seq > currentSeq(sql)) return null;
  return sql.all<ChangeRow>('SELECT * FROM changes WHERE seq > ? ORDER BY seq', seq).map(toRecord);
}

/** Deletes a prefix of the feed (up to the last change before `before`), so the horizon is exact. */
export function prune(sql: Sql, before: number): number {
  return sql.write(() => {
    const last = sql.get<{ seq: number | null }>(
      'SELECT max(seq) AS seq FROM changes WHERE created_at < ?',
      before,
    )?.seq;
    if (last == null) return 0;
    sql.setMeta(HORIZON, Math.max(last, sql.meta(HORIZON) ?? 0));
    return sql.run('DELETE FROM changes WHERE seq <= ?', last);
  });
}
