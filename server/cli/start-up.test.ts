/**
 * An admin command on a SQLite database does not load the PostgreSQL driver: `pg` and the
 * PostgreSQL store made every such command about 50 ms slower to start (0.27 s against 0.22 s for
 * `devices list`), and tests and scripts run many of them. Checked on the checkout's program: a
 * preloaded script reports, as the process exits, which driver modules Node loaded.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const PROGRAM = resolve(import.meta.dirname, '../../bin/burrow-server');
const dir = mkdtempSync(join(tmpdir(), 'burrow-start-up-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REPORT = `process.on('exit', () => {
  const loaded = Object.keys(require.cache).map((p) => /\\/node_modules\\/([^/]+)\\//.exec(p)?.[1]);
  process.stderr.write('drivers:' + [...new Set(loaded.filter((m) => m === 'pg' || m === 'better-sqlite3'))].sort().join(',') + '\\n');
});`;

it('lists devices of a SQLite database without loading pg', async () => {
  const preload = join(dir, 'report.cjs');
  writeFileSync(preload, REPORT);
  const { stdout, stderr } = await promisify(execFile)(
    PROGRAM,
    ['devices', 'list', '--db', join(dir, 'burrow.db')],
    { env: { ...process.env, NODE_OPTIONS: `--require ${preload}` } },
  );
  expect(stdout).toMatch(/^NETWORK\s+NAME/);
  expect(stderr).toMatch(/^drivers:better-sqlite3$/m);
}, 180_000);
