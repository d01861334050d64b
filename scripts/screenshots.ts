/**
 * `npm run screenshots [-- --out DIR] [--tray-only]` (as root): every picture in docs/screenshots
 * (or DIR). The window's main screens come from the UI test, which drives the real UI against
 * real burrow-server and burrowd processes in network namespaces (test/e2e/ui.test.ts with
 * BURROW_SCREENSHOTS: hence root); the journey view's from its own UI test, against the LocalAPI
 * stand-in's sample traces, so that they show the same reports each time
 * (test/e2e/journey-ui.test.ts); the tray menus are drawn from the tray's model
 * (scripts/tray-pictures.ts), which needs no root: `--tray-only` draws just those.
 * Changes nothing unless every picture was made anew. Exit codes: 0 done, 1 failed, 2 bad flags.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, drawTrayPictures } from './tray-pictures.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const USAGE = 'usage: npm run screenshots -- [--out DIR] [--tray-only]';
/** The tests that save the window's screens, and the screens they save. */
const UI_TESTS = ['test/e2e/ui.test.ts', 'test/e2e/journey-ui.test.ts'];
const UI_SCREENS = [
  'devices',
  'sharing',
  'exit-node',
  'shields-up',
  'sign-in',
  'sign-in-other-user',
  'helper-install',
  'trace-blocked',
  'trace-delivered',
];

function fail(message: string, code = 1): never {
  process.stderr.write(`npm run screenshots: ${message}\n`);
  process.exit(code);
}

const args = process.argv.slice(2);
let out = join(ROOT, 'docs/screenshots');
let trayOnly = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--tray-only') trayOnly = true;
  else if (args[i] === '--out' && args[i + 1] !== undefined) out = resolve(args[++i]!);
  else fail(`unknown or incomplete flag "${args[i]}"\n${USAGE}`, 2);
}
if (!existsSync(CHROMIUM)) fail(`no Chromium at ${CHROMIUM} (scripts/setup installs it)`);
if (!trayOnly && process.getuid?.() !== 0)
  fail('the window screens come from a test that makes network namespaces: run it as root (or --tray-only)');

class Failure extends Error {}

/** Makes every picture in `work`. */
async function make(work: string): Promise<void> {
  if (!trayOnly) {
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', ...UI_TESTS], {
        cwd: ROOT,
        stdio: 'inherit',
        env: { ...process.env, BURROW_SCREENSHOTS: work },
      });
    } catch {
      throw new Failure('the UI tests failed');
    }
    const missing = UI_SCREENS.filter((name) => !existsSync(join(work, `${name}.png`)));
    if (missing.length > 0) throw new Failure(`the UI tests did not save ${missing.join(', ')}`);
  }
  await drawTrayPictures(work);
}

// Everything is made in a fresh directory and copied to `out` only once all of it was made, so
// that a failure leaves docs/screenshots as it was.
const work = mkdtempSync(join(tmpdir(), 'burrow-screenshots-'));
try {
  await make(work);
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(work).sort()) {
    copyFileSync(join(work, name), join(out, name));
    process.stdout.write(`${relative(process.cwd(), join(out, name))}\n`);
  }
} catch (error) {
  if (!(error instanceof Failure)) throw error;
  process.stderr.write(`npm run screenshots: ${error.message}; nothing was changed\n`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
