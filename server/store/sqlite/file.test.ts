import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { formatIpv4, isReserved, parseIpv4, parseIpv4Pool } from '../addresses.js';
import { identity, T0, withTempStore } from '../testing.js';

/**
 * What only the SQLite back end has: its file, and how its queries go about the rows. Everything
 * a back end must do is in ../conformance, which runs on each.
 */

const mode = (path: string) => statSync(path).mode & 0o777;

describe('the SQLite file', () => {
  const t = withTempStore();
  const pool = parseIpv4Pool('100.64.0.0/10');

  it('is private to its owner, with its WAL and shared-memory files, in a private directory', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    await t.store.registerDevice({ ...identity(), userId: ana.id }, T0);
    expect(mode(t.path)).toBe(0o600);
    expect(mode(`${t.path}-wal`)).toBe(0o600);
    expect(mode(`${t.path}-shm`)).toBe(0o600);
    expect(mode(dirname(t.path))).toBe(0o700);
  });

  it('holds no auth key secret, only its hash', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const { secret } = await t.store.createAuthKey({ userId: ana.id }, T0);
    await t.store.close();
    const random = secret.split('-').slice(2).join('-');
    expect(readFileSync(t.path).includes(random)).toBe(false);
    await t.reopen();
  });

  it('skips a long run of taken addresses after wrapping with one query, not one per address', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    // Fill 100.64.0.1 .. 100.64.199.254 (51,000 addresses) directly, leaving a hole at 100.64.150.7,
    // and put the cursor at the end of the pool so the next allocation wraps into the filled run.
    const hole = parseIpv4('100.64.150.7');
    const raw = new Database(t.path);
    raw.transaction(() => {
      const insert = raw.prepare(
        `INSERT INTO devices (id, network_id, user_id, name, name_base, name_suffix, machine_key, node_key,
           disco_key, ipv4, ipv6, tags, ephemeral, online, endpoints, advertised_routes, approved_routes,
           advertises_exit_node, exit_node_approved, created_at)
         VALUES (?, ?, ?, ?, 'x', 0, ?, ?, 'd', ?, ?, '[]', 0, 0, '[]', '[]', '[]', 0, 0, 0)`,
      );
      for (let n = pool.first + 1; n < parseIpv4('100.64.200.0'); n++) {
        if (n === hole || isReserved(pool, n)) continue;
        insert.run(`r${n}`, ana.networkId, ana.id, `x${n}`, `m${n}`, `n${n}`, n, `v6-${n}`);
      }
      raw.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('ipv4_cursor', ?)").run(pool.last);
    })();
    raw.close();

    const start = performance.now();
    const d = await t.store.registerDevice({ ...identity(), userId: ana.id }, T0);
    const ms = performance.now() - start;
    expect(d.ipv4).toBe(formatIpv4(hole));
    expect(ms).toBeLessThan(250);
    const next = await t.store.registerDevice({ ...identity(), userId: ana.id }, T0);
    expect(next.ipv4).toBe('100.64.200.1');
  });
});
