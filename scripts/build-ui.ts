/**
 * Builds the UI: renderer/index.tsx bundled by esbuild into app.js, renderer/app.css minified into
 * app.css, beside renderer/index.html, in dist/renderer/ (or the directory given as the first
 * argument). The page has no inline script or style, so it runs under `script-src 'self';
 * style-src 'self'`. Prints each file's size, raw and gzipped: the bundle size is a tracked figure.
 *
 *   tsx scripts/build-ui.ts [out-dir]
 */
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = resolve(process.argv[2] ?? join(root, 'dist/renderer'));

const started = performance.now();
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

await build({
  // The stylesheet is an entry of its own, so the TypeScript never imports CSS.
  entryPoints: [
    { in: join(root, 'renderer/index.tsx'), out: 'app' },
    { in: join(root, 'renderer/app.css'), out: 'app' },
  ],
  outdir: outDir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'chrome120',
  minify: true,
  jsx: 'automatic',
  tsconfig: join(root, 'renderer/tsconfig.json'),
  // React's development checks are dropped only when this is a literal at build time.
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'none',
  logLevel: 'warning',
});
await copyFile(join(root, 'renderer/index.html'), join(outDir, 'index.html'));

const rows = await Promise.all(
  ['index.html', 'app.js', 'app.css'].map(async (name) => {
    const bytes = await readFile(join(outDir, name));
    return { name, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }),
);
const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(
  `UI built in ${relative(process.cwd(), outDir) || '.'} (${Math.round(performance.now() - started)} ms)`,
);
for (const r of rows) console.log(`  ${r.name.padEnd(10)} ${pad(r.bytes, 8)} B  ${pad(r.gzip, 7)} B gzip`);
const total = rows.reduce((sum, r) => ({ bytes: sum.bytes + r.bytes, gzip: sum.gzip + r.gzip }), {
  bytes: 0,
  gzip: 0,
});
console.log(`  ${'total'.padEnd(10)} ${pad(total.bytes, 8)} B  ${pad(total.gzip, 7)} B gzip`);
