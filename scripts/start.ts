/**
 * `npm start [-- FLAGS]`: the desktop app from this checkout. Builds the main process, the preload
 * and the UI (scripts/build-app.ts), then starts Electron on the checkout against the local
 * burrowd (/run/burrow/burrowd.sock; `--socket PATH` and `--socket-owner UID` choose another, see
 * main/app-flags.ts). Exits with Electron's code; 1 when Electron's binary is not installed.
 */
import { buildApp, electronBinary, launchElectron, NO_ELECTRON } from './electron-launch.js';

const binary = electronBinary();
if (binary === null) {
  process.stderr.write(`npm start: ${NO_ELECTRON}\nWithout Electron, \`npm run web\` serves the same UI.\n`);
  process.exit(1);
}
buildApp();
if (process.getuid?.() === 0)
  process.stderr.write("npm start: running as root, so without Chromium's sandbox (--no-sandbox)\n");
const app = launchElectron(binary, { flags: process.argv.slice(2) });
// Ctrl-C reaches Electron from the terminal itself; a signal sent to this process alone is passed on.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.kill(signal));
app.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
