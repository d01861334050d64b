/**
 * A stand-in for Electron's binary (the real one cannot be downloaded on this machine), started as
 * Electron is: `electron [SWITCHES] APP_DIR [FLAGS]`. Like Electron it loads the file APP_DIR's
 * package.json names as "main", here with a stand-in `electron` module, so the app's real main
 * process runs: its broker talks to a real burrowd socket, its tray gets real menus. It reports
 * what the app does on stdout, one line each, `stand-in-electron {JSON}` (see Report in
 * stand-in-electron-dist.ts), and takes lines on stdin that play the desktop:
 *   second-instance    the app is launched again (Electron's single-instance hand-over)
 *   minimize | close   the user minimises or closes the newest window
 *   call NAME JSON     the newest window's page calls window.burrow.call(NAME, JSON)
 *   tray-click A > B   the user clicks item B in submenu A of the tray's menu (labels as shown);
 *                      reported as `tray-click` with `found`; what it copies is reported as
 *                      `clipboard` with the text, as the desktop's clipboard would hold it
 * test/support/stand-in-electron-dist.ts makes the directory to point ELECTRON_OVERRIDE_DIST_PATH at.
 */
import { existsSync, readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { CHANNEL_PREFIX } from '../../src/ipc/schema.js';

const PREFIX = 'stand-in-electron ';
const report = (what: string, detail: Record<string, unknown> = {}) =>
  process.stdout.write(`${PREFIX}${JSON.stringify({ what, ...detail })}\n`);

type Listener = (...args: unknown[]) => unknown;

class Emitter {
  private readonly listeners = new Map<string, Listener[]>();
  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  once(event: string, listener: Listener): this {
    const once: Listener = (...args) => {
      this.listeners.set(
        event,
        (this.listeners.get(event) ?? []).filter((l) => l !== once),
      );
      return listener(...args);
    };
    return this.on(event, once);
  }
  emit(event: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }
}

const args = process.argv.slice(2);
const appDir = resolve(args.find((a) => !a.startsWith('-')) ?? '.');

const app = Object.assign(new Emitter(), {
  isPackaged: false,
  getAppPath: () => appDir,
  requestSingleInstanceLock: () => true,
  whenReady: () => Promise.resolve(),
  quit: () => {
    report('quit');
    process.exit(0);
  },
  exit: (code = 0) => {
    report('exit', { code });
    process.exit(code);
  },
});

/** An event, small enough for one report line: its type, the state, the peers' names. */
function summary(event: unknown): Record<string, unknown> {
  const e = event as { type: string; backendState?: string; status?: { peers: { hostName: string }[] } };
  return {
    type: e.type,
    ...(e.backendState ? { backendState: e.backendState } : {}),
    ...(e.status ? { peers: e.status.peers.map((p) => p.hostName) } : {}),
  };
}

/** The open windows, oldest first. */
const windows: BrowserWindow[] = [];
let made = 0;

class BrowserWindow extends Emitter {
  readonly id = ++made;
  private minimized = false;
  url = '';
  readonly webContents = Object.assign(new Emitter(), {
    getURL: () => this.url,
    send: (channel: string, event: unknown) =>
      report('send', { window: this.id, channel, ...summary(event) }),
    setWindowOpenHandler: () => undefined,
  });
  constructor(options: { webPreferences?: Record<string, unknown> }) {
    super();
    const { preload, sandbox, contextIsolation } = options.webPreferences ?? {};
    report('window', { window: this.id, preload, sandbox, contextIsolation });
    windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  async loadFile(file: string, options: { hash?: string } = {}): Promise<void> {
    const hash = options.hash ?? null;
    this.url = `${pathToFileURL(file).href}${hash === null ? '' : `#${hash}`}`;
    report('load', { window: this.id, file, exists: existsSync(file), hash });
    setImmediate(() => {
      this.webContents.emit('did-finish-load');
      this.emit('ready-to-show');
    });
  }
  /** A new address for the page; the app only ever changes its fragment (a same-page navigation). */
  async loadURL(url: string): Promise<void> {
    this.url = url;
    report('load-url', { window: this.id, url });
  }
  show = () => report('show', { window: this.id });
  focus = () => report('focus', { window: this.id });
  isMinimized = () => this.minimized;
  restore = () => {
    this.minimized = false;
    report('restore', { window: this.id });
  };
  minimize = () => (this.minimized = true);
}

/** An item of the menu the app last gave its tray (Menu.buildFromTemplate hands the template back). */
interface MenuItem {
  label?: string;
  submenu?: MenuItem[];
  click?: () => void;
}
let trayMenu: MenuItem[] = [];

class Tray {
  constructor(icon: string) {
    report('tray', { icon });
  }
  setImage = () => undefined;
  setToolTip = (text: string) => report('tooltip', { text });
  setContextMenu = (menu: MenuItem[]) => {
    trayMenu = menu;
  };
}

/** Clicks the item at `path` (labels from the top), as the user would; false if there is none. */
function clickTray(path: string[]): boolean {
  let items: MenuItem[] | undefined = trayMenu;
  let found: MenuItem | undefined;
  for (const label of path) {
    found = items?.find((i) => i.label === label);
    items = found?.submenu;
  }
  if (!found?.click) return false;
  found.click();
  return true;
}

const handlers = new Map<string, Listener>();
const electron = {
  app,
  BrowserWindow,
  Tray,
  Menu: { buildFromTemplate: (template: unknown) => template },
  ipcMain: { handle: (channel: string, listener: Listener) => handlers.set(channel, listener) },
  session: {
    defaultSession: {
      webRequest: { onHeadersReceived: () => undefined },
      setPermissionRequestHandler: () => undefined,
      setPermissionCheckHandler: () => undefined,
      setDevicePermissionHandler: () => undefined,
    },
  },
  clipboard: { writeText: (text: string) => report('clipboard', { text }) },
  shell: { openExternal: async () => undefined },
  Notification: { isSupported: () => false },
};

createInterface({ input: process.stdin }).on('line', async (line) => {
  const [command, name, ...json] = line.trim().split(' ');
  const newest = windows.at(-1);
  if (command === 'tray-click') {
    const path = line.trim().slice('tray-click '.length).split(' > ');
    report('tray-click', { path, found: clickTray(path) });
  } else if (command === 'second-instance') app.emit('second-instance', {}, args, process.cwd());
  else if (command === 'minimize') newest?.minimize();
  else if (command === 'close' && newest) {
    windows.splice(windows.indexOf(newest), 1);
    newest.emit('closed');
  } else if (command === 'call' && newest && name) {
    const handler = handlers.get(CHANNEL_PREFIX + name);
    const event = { senderFrame: { url: newest.url, parent: null } };
    const reply = handler ? await handler(event, JSON.parse(json.join(' ') || '{}')) : 'no handler';
    report('reply', { name, reply });
  }
});

const main = join(appDir, JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')).main);
report('started', { argv: args, app: appDir, main, uid: process.getuid?.(), pid: process.pid });
const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = loader._load;
loader._load = function (request, ...rest) {
  return request === 'electron' ? electron : load.call(this, request, ...rest);
};
createRequire(import.meta.url)(main);
