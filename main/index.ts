/**
 * The Electron main process: wires the facade, the broker, the tray and the window. Everything it
 * wires is tested under Node (and this bundle under a stand-in Electron, test/package/); Electron
 * itself cannot run in this repository's environment. Paths are the packaged layout, relative to
 * the app's root: dist/renderer/index.html (npm run build:ui), dist/main/preload.cjs (the bundled
 * preload) and assets/ (tray icons); the helper and scripts/install-helper.sh, packaged outside
 * the asar as resources. Flags: app-flags.ts.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { APP_USAGE, type AppFlags, FlagError, parseAppFlags } from './app-flags.js';
import { windowKeeper } from './app-window.js';
import { createBroker } from './broker.js';
import { app, createTray, createWindow, desktop, hardenApp, ipcMain } from './electron-facade.js';
import { installHelper, sudoPrompt } from './helper-install.js';
import { registerIpcHandlers } from './ipc-handlers.js';
import { runTrayAction } from './tray-actions.js';
import { trayIconFile } from './tray-icons.js';
import {
  applyEvent,
  INITIAL_TRAY_STATE,
  statusLine,
  type TrayState,
  trayIcon,
  trayMenu,
} from './tray-menu.js';

const root = app.getAppPath();
const indexPath = join(root, 'dist/renderer/index.html');
const preloadPath = join(root, 'dist/main/preload.cjs');
const iconPath = (state: TrayState) => join(root, 'assets', trayIconFile(trayIcon(state), process.platform));
const log = (message: string) => process.stderr.write(`${message}\n`);

function start(flags: AppFlags): void {
  const trusted = { indexUrl: pathToFileURL(indexPath).href };
  hardenApp(trusted);
  const broker = createBroker({
    socketPath: flags.socket,
    socketOwner: flags.socketOwner,
    log,
    platform: {
      copyText: desktop.copyText,
      openExternal: desktop.openExternal,
      installHelper: () =>
        installHelper({
          elevator: sudoPrompt,
          // bash cannot read from inside app.asar: the packaged app ships the script, the unit and
          // the helper (burrowd, the CLI and their addons) as resources (electron-builder.yml).
          // From a checkout the script installs launchers for bin/burrowd and bin/burrow instead.
          source: app.isPackaged ? { resources: process.resourcesPath } : { checkout: root },
        }),
    },
  });
  registerIpcHandlers(ipcMain, broker, trusted);

  const showWindow = windowKeeper((view) => createWindow(indexPath, preloadPath, view), broker.subscribe);

  let state = INITIAL_TRAY_STATE;
  const render = () => tray.show(iconPath(state), `Burrow: ${statusLine(state)}`, trayMenu(state));
  /** The helper's state and prefs are not in events: asked for again after each change. */
  const refresh = async () => {
    const helper = await broker.helperState();
    const prefs = await broker.call('getPrefs', {});
    state = {
      ...state,
      helper: helper.state,
      prefs: prefs.ok ? (prefs.response as TrayState['prefs']) : null,
    };
    render();
  };
  const tray = createTray(iconPath(state), (action) => {
    void runTrayAction(action, { ...desktop, call: broker.call, showWindow, quit: () => app.quit() }).then(
      refresh,
    );
  });
  broker.subscribe((event) => {
    state = applyEvent(state, event);
    render();
    if (event.type !== 'invites') void refresh();
  });
  render();
  // The tray app lives on with its window closed. Without a tray (GNOME), launching it again is
  // the way back to the window: that launch quits at once and this instance opens the window.
  app.on('window-all-closed', () => undefined);
  app.on('second-instance', () => showWindow());
  app.on('activate', () => showWindow()); // macOS: a click on the Dock icon
  showWindow();
}

function readFlags(): AppFlags | null {
  try {
    return parseAppFlags(process.argv.slice(1));
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    log(`Burrow: ${error.message}\n${APP_USAGE}`);
    return null;
  }
}

const flags = readFlags();
if (flags === null) app.exit(2);
else if (app.requestSingleInstanceLock()) void app.whenReady().then(() => start(flags));
else app.quit();
