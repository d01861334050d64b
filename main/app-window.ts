/**
 * The app's one window. It opens when the app starts and whenever the app is launched again (the
 * second instance hands over to this one), because the tray cannot be relied on: GNOME, by
 * default, shows no tray icons, and then the window is the only way into the app. A window that is
 * open is brought to the front (restored if minimised); one that was closed is made again.
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
  webContents: {
    on(event: 'did-finish-load', listener: () => void): void;
    send(channel: string, ...args: unknown[]): void;
  };
}

/** Returns `showWindow`: opens the window, or brings the open one to the front. */
export function windowKeeper(open: () => WindowLike, subscribe: Broker['subscribe']): () => void {
  let window: WindowLike | null = null;
  return () => {
    if (window) {
      if (window.isMinimized()) window.restore();
      window.show();
      window.focus();
      return;
    }
    const opened = open();
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
