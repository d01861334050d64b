/**
 * `npm run web`: Burrow's UI in a browser, served on 127.0.0.1 (main/web-server.ts). Prints the
 * URL to open; it holds the access token, so treat it like a password. Build the UI first with
 * `npm run build:ui`. Exit codes: 0 after Ctrl-C, 1 on a failure to start, 2 on bad flags.
 */
import { createBroker } from './broker.js';
import { FlagError, parseWebFlags, USAGE } from './web-flags.js';
import { startWebServer, webPlatform } from './web-server.js';

let flags: ReturnType<typeof parseWebFlags>;
try {
  flags = parseWebFlags(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof FlagError)) throw error;
  process.stderr.write(`burrow web: ${error.message}\n${USAGE}\n`);
  process.exit(2);
}
if (flags.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const log = (message: string) => process.stderr.write(`${message}\n`);
const broker = createBroker({
  socketPath: flags.socket,
  socketOwner: flags.socketOwner,
  platform: webPlatform,
  log,
});
try {
  const web = await startWebServer({ broker, port: flags.port });
  const helper = await broker.helperState();
  if (helper.state !== 'running') log(`burrow web: ${helper.detail}`);
  process.stdout.write(`Burrow is at ${web.url}\n(the link holds the access token: do not share it)\n`);
  const stop = async () => {
    await web.close();
    broker.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  log(`burrow web: ${(error as Error).message}`);
  broker.close();
  process.exitCode = 1;
}
