import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startPgCluster } from '../test-support/pg-cluster.js';

describe('a throwaway PostgreSQL cluster', () => {
  it('runs as nobody (not root) on a unix socket only, answers SQL, and leaves nothing behind when stopped', async () => {
    const cluster = await startPgCluster();
    let stopped = false;
    try {
      expect(await cluster.psql('SELECT 1 + 1')).toBe('2');
      expect(await cluster.psql('SELECT usename FROM pg_stat_activity WHERE pid = pg_backend_pid()')).toBe(
        'burrow',
      );
      expect(await cluster.psql('SHOW listen_addresses')).toBe('');
      expect(existsSync(join(cluster.dir, '.s.PGSQL.5432'))).toBe(true);
      const pid = Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      expect(uid).toBe(String(process.getuid?.() === 0 ? 65534 : process.getuid?.()));
      await cluster.stop();
      stopped = true;
      expect(existsSync(cluster.dir)).toBe(false);
      // Gone, or a zombie waiting for whoever adopted it (pg_ctl's server is not our child).
      const state = existsSync(`/proc/${pid}`)
        ? /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
        : 'gone';
      expect(['gone', 'Z']).toContain(state);
    } finally {
      if (!stopped) await cluster.stop();
    }
  }, 60_000);
});
