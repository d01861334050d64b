/**
 * The app's one window. It opens when the app starts and whenever the app is launched again (the
 * second instance hands over to this one), because the tray cannot be relied on: GNOME, by
 * default, shows no tray icons, and then the window is the only way into the app. A window that is
 * open is brought to the front (restored if minimised); one that was closed is made again.
 *
 * The tray may ask for a view (the journey view, src/ipc/open-view.ts): a new window loads its
 * page with that fragment, an open one has its fragment changed, which the page follows.
 */
import { EVENT_CHANNEL } from '../src/ipc/schema.js';
import type { Broker } from './broker.js';

/** What this needs of Electron's BrowserWindow (which satisfies it). */
export interface WindowLike {
  isMinimized(): boolean;
  restore(): void;
  show(): void;
  focus(): void;
  on(event: 'closed', listener: () => void): void;
  loadURL(url: string): Promise<void>;
  webContents: {
    getURL(): string;
    on(event: 'did-finish-load', listener: () => void): void;
    send(channel: string, ...args: unknown[]): void;
  };
}

/** The page's address with `view` as its fragment. */
export function withView(url: string, view: string): string {
  const u = new URL(url);
  u.hash = view;
  return u.href;
}

/**
 * Returns `showWindow`: opens the window (`open` loads the page, with `view` as its fragment if
 * given), or brings the open one to the front, on `view` if given.
 */
export function windowKeeper(
  open: (view?: string) => WindowLike,
  subscribe: Broker['subscribe'],
): (view?: string) => void {
  let window: WindowLike | null = null;
  return (view) => {
    if (window) {
      if (view !== undefined) void window.loadURL(withView(window.webContents.getURL(), view));
      if (window.isMinimized()) window.restore();
      window.show();
      window.focus();
      return;
    }
    const opened = open(view);
    window = opened;
    // Each page load gets the latest events replayed, then the live ones.
    let unsubscribe: (() => void) | null = null;
    opened.webContents.on('did-finish-load', () => {
      unsubscribe?.();
      unsubscribe = subscribe((event) => opened.webContents.send(EVENT_CHANNEL, event));
    });
    opened.on('closed', () => {
      unsubscribe?.();
      window = null;
    });
  };
}
