/**
 * For tests: a directory holding an `electron` executable that runs the stand-in
 * (stand-in-electron.ts), to point ELECTRON_OVERRIDE_DIST_PATH at (Electron's own variable, which
 * `require('electron')` honours), and the reading of the stand-in's reports from an output.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from './wg-peers.js';

/** One thing the app did under the stand-in (see stand-in-electron.ts for the kinds). */
export interface Report {
  what: string;
  window?: number;
  [key: string]: unknown;
}

export interface StandInDist {
  /** The directory for ELECTRON_OVERRIDE_DIST_PATH. */
  dir: string;
  remove(): void;
}

/** Makes the directory; readable by every user, so the stand-in can run as another uid. */
export function standInElectronDist(): StandInDist {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-electron-'));
  chmodSync(dir, 0o755);
  const tsx = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
  const script = join(REPO, 'test/support/stand-in-electron.ts');
  writeFileSync(
    join(dir, 'electron'),
    `#!/bin/sh\nexec '${process.execPath}' --import '${tsx}' '${script}' "$@"\n`,
    { mode: 0o755 },
  );
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The stand-in's reports in `output`, in order. */
export function reportsIn(output: string): Report[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('stand-in-electron {'))
    .map((line) => JSON.parse(line.slice('stand-in-electron '.length)) as Report);
}
