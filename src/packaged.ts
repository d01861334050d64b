/**
 * Packaged programs: burrowd, burrow and burrow-server built into single executables (Node SEA) by
 * scripts/build-package.ts, each with its native addons in the executable's directory. The build
 * bundles the sources with esbuild into CommonJS and defines BURROW_PACKAGED_VERSION; from a checkout
 * (tsx, or dist/ compiled by tsc) it is undefined and the checkout's own paths apply.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** Replaced by the package build with the version from package.json; not defined in a checkout. */
declare const BURROW_PACKAGED_VERSION: string | undefined;

/** A native addon that is missing or does not load: an installation problem, reported without a stack. */
export class AddonError extends Error {
  override readonly name = 'AddonError';
}

/** The version baked into a packaged build, or undefined when running from a checkout. */
export function packagedVersion(): string | undefined {
  return typeof BURROW_PACKAGED_VERSION === 'string' ? BURROW_PACKAGED_VERSION : undefined;
}

/**
 * Where a packaged program's addons are, or undefined from a checkout: the directory of the
 * executable (process.execPath is the real file, so this holds when it is run through a symlink).
 * The bare bundle run by `node` (to debug the build) looks beside itself instead.
 */
export function packagedDir(): string | undefined {
  if (packagedVersion() === undefined) return undefined;
  // Only ever reached in the CommonJS bundle, where require and __dirname exist (node:sea: Node 20.12+).
  const sea = require('node:sea') as typeof import('node:sea');
  return sea.isSea() ? dirname(process.execPath) : __dirname;
}

/**
 * Loads a native addon (a .node file) by absolute path. Inside a single executable `require` loads
 * built-in modules only, so a packaged program uses a require rooted at the executable.
 */
export function requireAddon(path: string): unknown {
  return createRequire(packagedDir() === undefined ? import.meta.url : process.execPath)(path);
}
