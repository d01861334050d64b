import type { Sql } from '../sql.js';
import type { ChangeKind, ChangeRecord } from '../types.js';

/**
 * The change feed. Writers call `record` inside their own transaction, so a change and its record
 * commit together or not at all: a server restarted after a crash, or a device reconnecting with
 * "since N", never misses one. Seq order must be commit order, or a reader that saw seq 7 could
 * miss a 6 committed after it: a PostgreSQL sequence does not keep that, so each seq is taken from
 * the `changes_seq` counter row, whose row lock the writer holds until it commits (or retries).
 * SQLite, one writer at a time, takes it from the same row (schema.ts, migration 6), so the feed's
 * position is a row of meta on both and moves with the data (burrow-server migrate).
 */

/** The last seq handed out. */
export const SEQ = 'changes_seq';

/** The highest seq pruned so far: history after it is complete. */
const HORIZON = 'changes_horizon';

export async function record(
  sql: Sql,
  networkIds: Iterable<string>,
  kind: ChangeKind,
  deviceId: string | null,
  now: number,
): Promise<void> {
  const networks = [...new Set(networkIds)];
  if (networks.length) await sql.appendChanges(networks, kind, deviceId, now);
}

/**
 * Networks whose maps show the device: its own, and those of users it is shared with (whose
 * devices see it as a peer). Read before a removal, while the shares still exist.
 */
export async function audience(sql: Sql, deviceId: string): Promise<string[]> {
  return (
    await sql.all<{ network_id: string }>(
      `SELECT network_id FROM devices WHERE id = ?
       UNION
       SELECT u.network_id FROM shares s JOIN users u ON u.id = s.recipient_user_id WHERE s.device_id = ?`,
      deviceId,
      deviceId,
    )
  ).map((r) => r.network_id);
}

export async function currentSeq(sql: Sql): Promise<number> {
  return (await sql.meta(SEQ)) ?? 0;
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

export async function changesSince(sql: Sql, networkId: string, seq: number): Promise<ChangeRecord[] | null> {
  if (seq < ((await sql.meta(HORIZON)) ?? 0) || seq > (await currentSeq(sql))) return null;
  return (
    await sql.all<ChangeRow>(
      'SELECT * FROM changes WHERE network_id = ? AND seq > ? ORDER BY seq',
      networkId,
      seq,
    )
  ).map(toRecord);
}

export async function changesAfter(sql: Sql, seq: number): Promise<ChangeRecord[] | null> {
  if (seq < ((await sql.meta(HORIZON)) ?? 0) || seq > (await currentSeq(sql))) return null;
  return (await sql.all<ChangeRow>('SELECT * FROM changes WHERE seq > ? ORDER BY seq', seq)).map(toRecord);
}

/** Deletes a prefix of the feed (up to the last change before `before`), so the horizon is exact. */
export async function prune(sql: Sql, before: number): Promise<number> {
  return sql.write(async () => {
    const last = (
      await sql.get<{ seq: number | null }>(
        'SELECT max(seq) AS seq FROM changes WHERE created_at < ?',
        before,
      )
    )?.seq;
    if (last == null) return 0;
    await sql.setMeta(HORIZON, Math.max(last, (await sql.meta(HORIZON)) ?? 0));
    return await sql.run('DELETE FROM changes WHERE seq <= ?', last);
  });
}
