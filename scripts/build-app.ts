/**
 * Builds what electron-builder packs into the desktop app's asar: the main process
 * (main/index.ts -> dist/main/index.cjs) and the window's preload (main/preload.ts ->
 * dist/main/preload.cjs), each one CommonJS bundle with only `electron` left outside (a sandboxed
 * preload cannot load modules at all), and the UI (scripts/build-ui.ts -> dist/renderer/).
 * package.json's "main" points at dist/main/index.cjs.
 *
 *   tsx scripts/build-app.ts
 */
import { execFileSync } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'dist/main');

await rm(outDir, { recursive: true, force: true });
for (const [entry, out] of [
  ['main/index.ts', 'index.cjs'],
  ['main/preload.ts', 'preload.cjs'],
] as const) {
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(outDir, out),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    // Electron 41 runs Node 22 and Chromium 136.
    target: 'node22',
    external: ['electron'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  console.log(`${`dist/main/${out}`.padEnd(24)} ${(await stat(join(outDir, out))).size} bytes`);
}
execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/build-ui.ts')], { stdio: 'inherit' });
