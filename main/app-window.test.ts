import { describe, expect, it } from 'vitest';
import { EVENT_CHANNEL } from '../src/ipc/schema.js';
import type { Event } from '../src/localapi/api.js';
import { type WindowLike, windowKeeper } from './app-window.js';

/** A window that records what is done to it, and lets the test load, minimise and close it. */
function fakeWindow(log: string[], n: number, view?: string) {
  const handlers = new Map<string, () => void>();
  let minimized = false;
  let url = `file:///opt/Burrow/dist/renderer/index.html${view === undefined ? '' : `#${view}`}`;
  const sent: unknown[] = [];
  const window: WindowLike = {
    isMinimized: () => minimized,
    restore: () => {
      minimized = false;
      log.push(`restore ${n}`);
    },
    show: () => log.push(`show ${n}`),
    focus: () => log.push(`focus ${n}`),
    on: (event, listener) => handlers.set(event, listener),
    loadURL: async (next) => {
      url = next;
      log.push(`load ${n} ${next}`);
    },
    webContents: {
      getURL: () => url,
      on: (event, listener) => handlers.set(event, listener),
      send: (channel, event) => sent.push([channel, event]),
    },
  };
  return {
    window,
    sent,
    load: () => handlers.get('did-finish-load')!(),
    minimize: () => (minimized = true),
    close: () => handlers.get('closed')!(),
  };
}

function setup() {
  const log: string[] = [];
  const windows: ReturnType<typeof fakeWindow>[] = [];
  const listeners = new Set<(e: Event) => void>();
  const showWindow = windowKeeper(
    (view) => {
      const w = fakeWindow(log, windows.length + 1, view);
      windows.push(w);
      log.push(`open ${windows.length}${view === undefined ? '' : ` #${view}`}`);
      return w.window;
    },
    (listener) => {
      listeners.add(listener);
      listener({ type: 'state', backendState: 'running', authUrl: null });
      return () => listeners.delete(listener);
    },
  );
  return { log, windows, listeners, showWindow };
}

describe('the app window', () => {
  it('a launch while the window is open brings that window to the front, restored', () => {
    const { log, windows, showWindow } = setup();
    showWindow();
    showWindow();
    windows[0]!.minimize();
    showWindow();
    expect(log).toEqual(['open 1', 'show 1', 'focus 1', 'restore 1', 'show 1', 'focus 1']);
  });

  it('a launch after the window was closed opens a new one', () => {
    const { log, windows, listeners, showWindow } = setup();
    showWindow();
    windows[0]!.load();
    expect(listeners.size).toBe(1);
    windows[0]!.close();
    expect(listeners.size).toBe(0);
    showWindow();
    expect(log).toEqual(['open 1', 'open 2']);
  });

  it('each page load gets the latest state replayed, and one subscription only', () => {
    const { windows, listeners, showWindow } = setup();
    showWindow();
    const w = windows[0]!;
    w.load();
    w.load(); // a reload
    expect(listeners.size).toBe(1);
    expect(w.sent).toEqual([
      [EVENT_CHANNEL, { type: 'state', backendState: 'running', authUrl: null }],
      [EVENT_CHANNEL, { type: 'state', backendState: 'running', authUrl: null }],
    ]);
  });

  it('opens on a view the tray asks for: a new window with it, an open one by its fragment', () => {
    const { log, windows, showWindow } = setup();
    showWindow('trace');
    expect(log).toEqual(['open 1 #trace']);
    showWindow('trace=webcam');
    showWindow();
    expect(log.slice(1)).toEqual([
      'load 1 file:///opt/Burrow/dist/renderer/index.html#trace=webcam',
      'show 1',
      'focus 1',
      'show 1',
      'focus 1',
    ]);
    windows[0]!.close();
    showWindow('trace=nas');
    expect(log.at(-1)).toBe('open 2 #trace=nas');
  });
});
