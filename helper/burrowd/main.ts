/**
 * burrowd, the privileged helper. Today it runs standalone WireGuard interfaces from wg-quick files:
 *   burrowd --wg-config /etc/wireguard/wg0.conf [--interface wg0]
 * Exit codes: 0 after a clean shutdown, 1 on a runtime failure, 2 on bad flags or config.
 */
import { WgConfigError } from '../wgconfig/types.js';
import { FlagError, parseFlags, USAGE } from './flags.js';
import { stderrLog } from './log.js';
import { runStandalone } from './standalone.js';

async function main(argv: string[]): Promise<number> {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    process.stderr.write(`burrowd: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  const log = stderrLog(flags.verbose);
  if (flags.wgConfig === undefined) {
    log.error('nothing to do yet: only standalone mode (--wg-config PATH) is implemented');
    return 2;
  }
  try {
    await runStandalone({ ...flags, wgConfig: flags.wgConfig }, log);
    return 0;
  } catch (error) {
    if (error instanceof WgConfigError) {
      log.error(error.message);
      return 2;
    }
    log.error((error as Error).stack ?? String(error));
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
// Handles of a torn-down interface must not keep the process alive.
setTimeout(() => process.exit(), 1000).unref();
