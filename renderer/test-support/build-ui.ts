/// <reference types="node" />
/** Runs scripts/build-ui.ts as `npm run build:ui` would, into a temporary directory. */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));

export async function buildUi(): Promise<{ dir: string; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'burrow-ui-'));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, 'scripts/build-ui.ts'), dir],
    { cwd: root },
  );
  return { dir, output: stdout };
}
