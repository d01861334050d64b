/** `burrow version`: the CLI's own version, and burrowd's when it answers. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalApiCallError } from '../../src/localapi/client.js';
import { packagedVersion } from '../../src/packaged.js';
import { type Command, printJson } from './command.js';

/**
 * The version baked into a packaged burrow, else the one in the checkout's package.json, found by
 * walking up: this file runs both from helper/cli (tests, tsx) and from dist/helper/cli (built), at
 * different depths.
 */
function cliVersion(): string {
  const packaged = packagedVersion();
  if (packaged !== undefined) return packaged;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) return 'unknown';
  }
}

export const versionCommand: Command = {
  usage: 'version [--json]',
  flags: {},
  operands: [],
  async run(ctx) {
    const cli = cliVersion();
    let burrowd: string | null = null;
    try {
      burrowd = (await ctx.client().call('status', {})).version;
    } catch (error) {
      // The CLI's version is the answer; burrowd's is a bonus that needs it running.
      if (!(error instanceof LocalApiCallError)) throw error;
      ctx.io.err(`burrow: cannot ask burrowd its version: ${error.message}\n`);
    }
    if (ctx.json) printJson(ctx, { cli, burrowd });
    else ctx.io.out(`burrow ${cli}\n${burrowd === null ? '' : `burrowd ${burrowd}\n`}`);
    return 0;
  },
};
