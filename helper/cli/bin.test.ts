import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const burrow = join(root, 'bin/burrow');
const run = (...args: string[]) => promisify(execFile)(burrow, args, { timeout: 180_000 });

describe('bin/burrow', () => {
  // The first run may build the checkout (scripts/run-built), which takes a while.
  beforeAll(async () => {
    await run('help');
  }, 180_000);

  it('prints its version from a checkout, and says why burrowd had nothing to add', async () => {
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
