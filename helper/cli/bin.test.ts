import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { BURROW } from '../../test/support/programs.js';

const root = join(import.meta.dirname, '../..');
const run = (...args: string[]) => promisify(execFile)(BURROW, args, { timeout: 180_000 });

// bin/burrow, or the packaged burrow with BURROW_PROGRAMS set (test/support/programs.ts).
describe('the burrow program', () => {
  // The first run may build the checkout (scripts/run-built), which takes a while.
  beforeAll(async () => {
    await run('help');
  }, 180_000);

  it('prints its version, and says why burrowd had nothing to add', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const { stdout, stderr } = await run('--socket', '/nonexistent/burrowd.sock', 'version');
    expect(stdout).toBe(`burrow ${version}\n`);
    expect(stderr).toBe(
      'burrow: cannot ask burrowd its version: burrowd is not running (no LocalAPI at /nonexistent/burrowd.sock)\n',
    );
  });

  it('exits 2 on a usage error', async () => {
    const error = await run('status', '--nope').catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 2, stderr: expect.stringContaining('burrow: unknown flag --nope') });
  });
});
