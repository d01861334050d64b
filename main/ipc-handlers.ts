/**
 * The Electron IPC side of the broker: one `ipcMain.handle` per name in the IPC table, so a
 * channel outside the table has no handler and cannot be called. Each call must come from the top
 * frame of our own page (the app's index.html, or web mode's origin when a window shows it): a
 * page the window was somehow navigated to, or a frame inside ours, is refused before the broker
 * sees the request. Runs under Node with a fake ipcMain in tests.
 */
import { CHANNEL_PREFIX, ipcOperations } from '../src/ipc/schema.js';
import type { Broker, BrokerReply } from './broker.js';

/** The part of Electron's IpcMainInvokeEvent the check reads. */
export interface InvokeEventLike {
  senderFrame: { url: string; parent: unknown } | null;
}

/** The part of Electron's ipcMain the handlers need (Electron's own satisfies it). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
}

export interface TrustedPages {
  /** file:// URL of the app's index.html. */
  indexUrl: string;
  /** Web mode's origin (http://127.0.0.1:PORT), if a window may show it. */
  webOrigin?: string;
}

/** Whether a page URL is ours: the same index.html (any hash or query), or web mode's origin. */
export function isTrustedPage(pageUrl: string, trusted: TrustedPages): boolean {
  let page: URL;
  try {
    page = new URL(pageUrl);
  } catch {
    return false;
  }
  const index = new URL(trusted.indexUrl);
  if (page.protocol === 'file:') return page.host === index.host && page.pathname === index.pathname;
  return trusted.webOrigin !== undefined && page.origin === trusted.webOrigin;
}

const refuse = (error: string, status: number): BrokerReply => ({ ok: false, error: { error, status } });

/** Registers a handler per IPC name; returns the channels registered. */
export function registerIpcHandlers(
  ipcMain: IpcMainLike,
  broker: Pick<Broker, 'call'>,
  trusted: TrustedPages,
): string[] {
  return Object.keys(ipcOperations).map((name) => {
    const channel = CHANNEL_PREFIX + name;
    ipcMain.handle(channel, async (event, ...args): Promise<BrokerReply> => {
      const frame = event.senderFrame;
      if (frame === null || frame.parent !== null || !isTrustedPage(frame.url, trusted))
        return refuse(`refused: ${channel} may only be called by Burrow's own page`, 403);
      if (args.length > 1) return refuse(`${name}: takes one request object`, 400);
      return broker.call(name, args[0]);
    });
    return channel;
  });
}
