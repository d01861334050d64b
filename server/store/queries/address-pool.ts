import { type Ipv4Pool, isReserved } from '../addresses.js';
import { StoreError } from '../errors.js';
import type { Sql } from '../sql.js';

/** The last address handed out; the next search starts after it. */
const CURSOR = 'ipv4_cursor';

/**
 * Hands out the next free IPv4 address after the cursor, wrapping at the end of the pool. An
 * address freed by a deleted device is therefore not handed out again until the cursor has gone
 * round the whole pool (4 million addresses by default): peers, DNS caches and policies that still
 * remember it will not reach a stranger. The cursor persists, so a restart does not rewind it.
 *
 * Cost: a point lookup on the unique ipv4 index per step; a run of taken addresses (only met after
 * wrapping) is skipped with one query instead of one lookup per address.
 */
export async function allocateIpv4(sql: Sql, pool: Ipv4Pool): Promise<number> {
  const cursor = await sql.meta(CURSOR);
  let wrapped = false;
  const next = (addr: number): number => {
    if (addr < pool.last) return addr + 1;
    wrapped = true;
    return pool.first;
  };
  const start = next(
    cursor !== undefined && cursor >= pool.first && cursor <= pool.last ? cursor : pool.first,
  );
  wrapped = false;
  let candidate = start;
  for (;;) {
    if (!isReserved(pool, candidate)) {
      if (!(await sql.get('SELECT 1 FROM devices WHERE ipv4 = ?', candidate))) break;
      const runEnd = await sql.get<{ last: number }>(
        `SELECT d.ipv4 AS last FROM devices d
         WHERE d.ipv4 >= ? AND NOT EXISTS (SELECT 1 FROM devices e WHERE e.ipv4 = d.ipv4 + 1)
         ORDER BY d.ipv4 LIMIT 1`,
        candidate,
      );
      candidate = runEnd ? Math.min(runEnd.last, pool.last) : candidate;
    }
    candidate = next(candidate);
    if (wrapped && candidate >= start)
      throw new StoreError('address-exhausted', 'no free IPv4 address in the pool');
  }
  await sql.setMeta(CURSOR, candidate);
  return candidate;
}
