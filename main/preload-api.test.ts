import { describe, expect, it, vi } from 'vitest';
import type { IpcName } from '../src/ipc/schema.js';
import type { Event } from '../src/localapi/api.js';
import { createBurrowApi, type IpcRendererLike, isIpcName } from './preload-api.js';

function fakeIpcRenderer(reply: unknown = { ok: true, response: { shieldsUp: true } }) {
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  const ipc: IpcRendererLike & { invoke: ReturnType<typeof vi.fn> } = {
    invoke: vi.fn(async () => reply),
    on: (channel, listener) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(listener);
    },
    removeListener: (channel, listener) => {
      listeners.get(channel)?.delete(listener);
    },
  };
  /** What main's webContents.send does: the listener gets Electron's event object first. */
  const send = (channel: string, payload: unknown) => {
    for (const l of listeners.get(channel) ?? []) l({ sender: 'the ipcRenderer itself' }, payload);
  };
  return { ipc, send, listeners };
}

describe('the preload API', () => {
  it('knows the names in the IPC table and nothing else', () => {
    expect(isIpcName('status')).toBe(true);
    expect(isIpcName('copyText')).toBe(true);
    for (const name of ['events', 'reboot', 'toString', '__proto__', 'constructor', '', 42, null, undefined])
      expect(isIpcName(name), String(name)).toBe(false);
  });

  it('invokes burrow:<name> and unwraps the answer', async () => {
    const { ipc } = fakeIpcRenderer();
    const api = createBurrowApi(ipc);
    expect(await api.call('setPrefs', { shieldsUp: true })).toEqual({ shieldsUp: true });
    expect(ipc.invoke).toHaveBeenCalledWith('burrow:setPrefs', { shieldsUp: true });
  });

  it('refuses an unknown name without sending anything', async () => {
    const { ipc } = fakeIpcRenderer();
    const api = createBurrowApi(ipc);
    await expect(api.call('reboot' as IpcName, {} as never)).rejects.toEqual({
      error: 'unknown call "reboot"',
      status: 404,
    });
    expect(ipc.invoke).not.toHaveBeenCalled();
  });

  it('rejects with the IpcError main sent, or a 500 for a malformed reply', async () => {
    const refused = createBurrowApi(
      fakeIpcRenderer({ ok: false, error: { error: 'no peer "x"', status: 404 } }).ipc,
    );
    await expect(refused.call('setPrefs', { exitNode: 'x' })).rejects.toEqual({
      error: 'no peer "x"',
      status: 404,
    });
    const broken = createBurrowApi(fakeIpcRenderer('nonsense').ipc);
    await expect(broken.call('status', {})).rejects.toEqual({
      error: 'the app sent a malformed reply',
      status: 500,
    });
  });

  it('passes on checked events only, never the Electron event, and unsubscribes', () => {
    const { ipc, send, listeners } = fakeIpcRenderer();
    const api = createBurrowApi(ipc);
    const seen: unknown[][] = [];
    const unsubscribe = api.onEvent((...args) => seen.push(args));
    const state: Event = { type: 'state', backendState: 'running', authUrl: null };
    send('burrow:event', state);
    send('burrow:event', { type: 'reboot' });
    send('burrow:other', state);
    expect(seen).toEqual([[state]]);
    unsubscribe();
    expect(listeners.get('burrow:event')?.size).toBe(0);
    send('burrow:event', state);
    expect(seen).toHaveLength(1);
  });
});
