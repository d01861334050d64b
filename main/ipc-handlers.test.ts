import { afterEach, describe, expect, it, vi } from 'vitest';
import { ipcOperations } from '../src/ipc/schema.js';
import { STATUS, startTestLocalApi } from '../test/support/memory-localapi.js';
import { type BrokerReply, createBroker } from './broker.js';
import {
  type InvokeEventLike,
  type IpcMainLike,
  isTrustedPage,
  registerIpcHandlers,
} from './ipc-handlers.js';
import { webPlatform } from './web-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const INDEX = 'file:///opt/Burrow/resources/app/dist/renderer/index.html';
const trusted = { indexUrl: INDEX, webOrigin: 'http://127.0.0.1:4000' };

/** Records what main registers, and invokes it as Electron would. */
function fakeIpcMain() {
  const handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  const ipcMain: IpcMainLike = {
    handle: (channel, listener) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, listener);
    },
  };
  const invoke = async (channel: string, url: string | null, ...args: unknown[]) => {
    const handler = handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`); // Electron's refusal
    const frame = url === null ? null : { url, parent: null };
    return (await handler({ senderFrame: frame }, ...args)) as BrokerReply;
  };
  return { ipcMain, handlers, invoke };
}

describe('IPC handlers', () => {
  it('registers exactly the calls in the IPC table, and relays trusted ones to the broker', async () => {
    const { ipcMain, handlers, invoke } = fakeIpcMain();
    const call = vi.fn(async (): Promise<BrokerReply> => ({ ok: true, response: { done: true } }));
    const channels = registerIpcHandlers(ipcMain, { call }, trusted);
    expect(channels).toEqual(Object.keys(ipcOperations).map((n) => `burrow:${n}`));
    expect([...handlers.keys()]).toEqual(channels);
    expect(channels).toContain('burrow:setPrefs');
    expect(channels).toContain('burrow:installHelper');
    expect(channels).not.toContain('burrow:events');

    expect(await invoke('burrow:setPrefs', INDEX, { shieldsUp: true })).toEqual({
      ok: true,
      response: { done: true },
    });
    expect(await invoke('burrow:status', `${INDEX}#/devices`, {})).toMatchObject({ ok: true });
    expect(await invoke('burrow:status', 'http://127.0.0.1:4000/', {})).toMatchObject({ ok: true });
    expect(call.mock.calls).toEqual([
      ['setPrefs', { shieldsUp: true }],
      ['status', {}],
      ['status', {}],
    ]);
  });

  it.each([
    ['another local file', 'file:///home/alice/Downloads/evil.html'],
    ['a web page', 'https://evil.example/'],
    ['another port on loopback', 'http://127.0.0.1:4001/'],
    [
      'a page named like ours on another host',
      'file://evil.example/opt/Burrow/resources/app/dist/renderer/index.html',
    ],
    ['a frame that is gone', null],
    ['garbage', 'not a url'],
  ])('refuses a call from %s before the broker sees it', async (_what, url) => {
    const { ipcMain, invoke } = fakeIpcMain();
    const call = vi.fn();
    registerIpcHandlers(ipcMain, { call }, trusted);
    expect(await invoke('burrow:setPrefs', url, { shieldsUp: true })).toEqual({
      ok: false,
      error: { error: "refused: burrow:setPrefs may only be called by Burrow's own page", status: 403 },
    });
    expect(call).not.toHaveBeenCalled();
  });

  it('refuses a frame inside our page, and extra arguments', async () => {
    const { ipcMain, handlers, invoke } = fakeIpcMain();
    const call = vi.fn();
    registerIpcHandlers(ipcMain, { call }, trusted);
    const handler = handlers.get('burrow:status')!;
    expect(await handler({ senderFrame: { url: INDEX, parent: { url: INDEX } } }, {})).toMatchObject({
      ok: false,
      error: { status: 403 },
    });
    expect(await invoke('burrow:status', INDEX, {}, 'extra')).toEqual({
      ok: false,
      error: { error: 'status: takes one request object', status: 400 },
    });
    expect(call).not.toHaveBeenCalled();
  });

  it('has no channel outside the table, and the broker refuses such a name too', async () => {
    const api = await startTestLocalApi();
    cleanups.push(() => api.dispose());
    const broker = createBroker({ socketPath: api.socketPath, platform: webPlatform });
    cleanups.push(() => broker.close());
    const { ipcMain, invoke } = fakeIpcMain();
    registerIpcHandlers(ipcMain, broker, trusted);
    await expect(invoke('burrow:reboot', INDEX, {})).rejects.toThrow(
      "No handler registered for 'burrow:reboot'",
    );
    await expect(invoke('burrow:events', INDEX, {})).rejects.toThrow(/No handler/);
    expect(await broker.call('reboot', {})).toEqual({
      ok: false,
      error: { error: 'unknown call "reboot"', status: 404 },
    });
    // Through a real broker, end to end: the request is checked, then burrowd answers.
    expect(await invoke('burrow:status', INDEX, {})).toEqual({ ok: true, response: STATUS });
    expect(await invoke('burrow:setPrefs', INDEX, { shieldsUp: 1 })).toMatchObject({
      ok: false,
      error: { status: 400, error: 'request.shieldsUp: expected true or false, got number' },
    });
  });

  it('tells our page from others', () => {
    expect(isTrustedPage(`${INDEX}?x=1#top`, trusted)).toBe(true);
    expect(isTrustedPage('file:///opt/Burrow/resources/app/dist/renderer/other.html', trusted)).toBe(false);
    expect(isTrustedPage('http://127.0.0.1:4000/index.html', { indexUrl: INDEX })).toBe(false);
    expect(isTrustedPage('http://localhost:4000/', trusted)).toBe(false);
  });
});
