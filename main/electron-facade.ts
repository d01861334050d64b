/**
 * The only file besides index.ts and preload.ts that touches Electron: a thin layer over the few
 * APIs main uses, with the hardening that must hold for every window. Electron cannot run in this
 * repository's tests, so nothing here decides anything that could be decided under Node: the
 * menu comes from tray-menu.ts, the actions from tray-actions.ts, the IPC from ipc-handlers.ts.
 */
import {
  app,
  BrowserWindow,
  clipboard,
  ipcMain,
  Menu,
  type MenuItemConstructorOptions,
  Notification,
  session,
  shell,
  Tray,
} from 'electron';
import { CSP } from './csp.js';
import { isTrustedPage, type TrustedPages } from './ipc-handlers.js';
import { permissionHandlers } from './permissions.js';
import type { TrayAction, TrayItem } from './tray-menu.js';

export { app, ipcMain };

/**
 * For every window and webview, ever: our CSP on every response, no navigation away from our own
 * page, no new windows, no webviews, and no permission (camera, notifications, devices, …) for
 * the page (permissions.ts).
 */
export function hardenApp(trusted: TrustedPages): void {
  const ses = session.defaultSession;
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  ses.setPermissionRequestHandler(permissionHandlers.request);
  ses.setPermissionCheckHandler(permissionHandlers.check);
  ses.setDevicePermissionHandler(permissionHandlers.device);
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => {
      if (!isTrustedPage(event.url, trusted)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

/** The window, loading the app's page; with `view`, that fragment (src/ipc/open-view.ts). */
export function createWindow(indexPath: string, preloadPath: string, view?: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 420,
    height: 640,
    show: false,
    title: 'Burrow',
    webPreferences: {
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
      preload: preloadPath,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadFile(indexPath, view === undefined ? {} : { hash: view });
  return window;
}

/** Our menu template as Electron's, each click running the item's action. */
function toElectron(items: TrayItem[], onAction: (action: TrayAction) => void): MenuItemConstructorOptions[] {
  return items.map(({ type, label, enabled, checked, submenu, action }) => ({
    type,
    label,
    enabled,
    checked,
    ...(submenu ? { submenu: toElectron(submenu, onAction) } : {}),
    ...(action ? { click: () => onAction(action) } : {}),
  }));
}

export interface TrayHandle {
  show(iconPath: string, tooltip: string, items: TrayItem[]): void;
}

export function createTray(iconPath: string, onAction: (action: TrayAction) => void): TrayHandle {
  const tray = new Tray(iconPath);
  return {
    show(path, tooltip, items) {
      tray.setImage(path);
      tray.setToolTip(tooltip);
      tray.setContextMenu(Menu.buildFromTemplate(toElectron(items, onAction)));
    },
  };
}

export const desktop = {
  copyText: (text: string) => clipboard.writeText(text),
  /** Only ever called with http(s) URLs checked against a schema. */
  openExternal: (url: string) => shell.openExternal(url),
  notify(title: string, body: string) {
    if (Notification.isSupported()) new Notification({ title, body, silent: true }).show();
  },
};
