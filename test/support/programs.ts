/**
 * The programs the tests and benchmarks run: the checkout's bin/ scripts by default, or with
 * BURROW_PROGRAMS=DIR set, DIR/burrowd, DIR/burrow and DIR/burrow-server. `npm run build:helper` and
 * `npm run build:server` put symlinks to the packaged executables in dist/package/bin, so
 *   BURROW_PROGRAMS=dist/package/bin npx vitest run test/e2e/mesh.test.ts
 * runs a test against the packaged programs (scripts/test-packaged.sh does that for npm test).
 */
import { resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../..');

/** The directory given by BURROW_PROGRAMS (absolute), or undefined for the checkout's bin/. */
export const PROGRAMS_DIR = process.env.BURROW_PROGRAMS ? resolve(process.env.BURROW_PROGRAMS) : undefined;

const program = (name: string) => resolve(PROGRAMS_DIR ?? resolve(REPO, 'bin'), name);

export const BURROWD = program('burrowd');
export const BURROW = program('burrow');
export const BURROW_SERVER = program('burrow-server');
