/**
 * burrowd, the privileged helper. By default a mesh node, driven through its LocalAPI (the burrow
 * CLI, the desktop app):
 *   burrowd [--state-dir DIR] [--socket PATH] [--tun NAME] [--port N] [--operator USER]
 * or a standalone WireGuard interface from a wg-quick file:
 *   burrowd --wg-config /etc/wireguard/wg0.conf [--interface wg0] [--daemon]
 * or a bare one that `wg` configures and wg-quick routes, as `wireguard-go wg0` (bin/burrowd-wg):
 *   burrowd --interface wg0 [--daemon]
 * Exit codes: 0 after a clean shutdown (or --help), 1 on a runtime failure (a missing addon among
 * them; for a mesh node, its interface deleted under it, after removing everything it had added,
 * so that its service manager starts it again), 2 on bad flags or config.
 */
import { AddonError } from '../../src/packaged.js';
import { DnsError } from '../dns/types.js';
import { native } from '../native/index.js';
import { WgConfigError } from '../wgconfig/types.js';
import { daemonize } from './daemon.js';
import { FlagError, parseFlags, USAGE } from './flags.js';
import { stderrLog } from './log.js';
import { runMesh } from './mesh-main.js';
import { runStandalone } from './standalone.js';
import { StateError } from './state-dir.js';
import { InterfaceGoneError } from './tunnel.js';
import { HookError } from './wg-quick-hooks.js';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    process.stderr.write(`burrowd: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (flags.daemon) return await daemonize(argv);
  const log = stderrLog(flags.verbose);
  try {
    // Without the addon there is no TUN and no socket: refuse before touching anything.
    native();
    if (flags.wgConfig === undefined && flags.interface === undefined) await runMesh(flags, log);
    else await runStandalone(flags, log);
    return 0;
  } catch (error) {
    if (error instanceof WgConfigError || error instanceof StateError) {
      log.error(error.message);
      return 2;
    }
    if (error instanceof AddonError || error instanceof HookError || error instanceof DnsError) {
      log.error(error.message);
      return 1;
    }
    if (error instanceof InterfaceGoneError) {
      log.error(
        `${error.message}: removed its rules, routes and settings; exiting with status 1 to be started again`,
      );
      return 1;
    }
    log.error((error as Error).stack ?? String(error));
    return 1;
  }
}

// No top-level await: the packaged burrowd is this file bundled into CommonJS (scripts/build-package.ts).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Handles of a torn-down interface must not keep the process alive.
  setTimeout(() => process.exit(), 1000).unref();
});
