import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Event } from '../src/localapi/api.js';
import { PREFS, SHARES, STATUS, startTestLocalApi } from '../test/support/memory-localapi.js';
import { waitFor } from '../test/support/netns.js';
import { type AppPlatform, type BrokerOptions, createBroker } from './broker.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function platform() {
  return {
    copyText: vi.fn<AppPlatform['copyText']>(),
    openExternal: vi.fn<AppPlatform['openExternal']>(),
    installHelper: vi.fn<AppPlatform['installHelper']>(async () => ({
      installed: true,
      detail: 'burrowd is installed and running',
    })),
  };
}

async function setup(options: Partial<BrokerOptions> = {}) {
  const api = await startTestLocalApi();
  cleanups.push(() => api.dispose());
  const app = platform();
  const broker = createBroker({
    socketPath: api.socketPath,
    platform: app,
    installedPaths: [],
    reconnect: { minMs: 20, maxMs: 100 },
    ...options,
  });
  cleanups.push(() => broker.close());
  return { api, app, broker };
}

/** Collects events; `until` waits for the one that matches. */
function collect() {
  const events: Event[] = [];
  return {
    events,
    listener: (e: Event) => events.push(e),
    until: (match: (e: Event) => boolean, from = 0) =>
      waitFor('the event', async () => events.slice(from).some(match), 5000, 10),
  };
}

describe('broker calls', () => {
  it('passes LocalAPI calls through to burrowd and returns its checked answers', async () => {
    const { api, broker } = await setup();
    expect(await broker.call('status', {})).toEqual({ ok: true, response: STATUS });
    expect(await broker.call('setPrefs', { shieldsUp: true })).toEqual({
      ok: true,
      response: { ...PREFS, shieldsUp: true },
    });
    // An absent request is the empty one.
    expect(await broker.call('listShares', undefined)).toEqual({ ok: true, response: SHARES });
    expect(api.calls.filter((c) => c !== 'events')).toEqual(['status', 'setPrefs', 'listShares']);
  });

  it.each([
    ['an unknown name', 'reboot', {}, 404, 'unknown call "reboot"'],
    ['the streaming operation', 'events', {}, 404, 'unknown call "events"'],
    ['a name from the prototype', 'toString', {}, 404, 'unknown call "toString"'],
    [
      'a wrong type',
      'setPrefs',
      { shieldsUp: 'yes' },
      400,
      'request.shieldsUp: expected true or false, got "yes"',
    ],
    ['an unknown field', 'setPrefs', { shieldsUP: true }, 400, 'request.shieldsUP: unknown field'],
    ['a non-object', 'status', 'hello', 400, 'request: expected an object, got "hello"'],
    ['an oversize request', 'setPrefs', { hostname: 'a'.repeat(70_000) }, 413, 'request: over 65536 bytes'],
    [
      'a non-http login URL',
      'openLogin',
      { url: 'javascript:alert(1)' },
      400,
      /request\.url: expected an http\(s\) URL/,
    ],
    [
      'too long a text to copy',
      'copyText',
      { text: 'x'.repeat(300) },
      400,
      'request.text: must be at most 256 characters',
    ],
    ['a trace without a target', 'trace', { port: 80 }, 400, 'request.target: is required'],
    [
      'a trace to port 0',
      'trace',
      { target: 'desktop', port: 0 },
      400,
      /request\.port: must be between 1 and 65535/,
    ],
    ['a trace of another protocol', 'trace', { target: 'desktop', proto: 'gre' }, 400, /request\.proto/],
    [
      'a trace with a field it does not take',
      'trace',
      { target: 'desktop', ttl: 1 },
      400,
      'request.ttl: unknown field',
    ],
  ])('refuses %s before anything happens', async (_what, name, request, status, error) => {
    const { api, app, broker } = await setup();
    const reply = await broker.call(name, request);
    expect(reply).toMatchObject({ ok: false, error: { status } });
    if (reply.ok) return;
    expect(reply.error.error).toMatch(error);
    expect(api.calls.filter((c) => c !== 'events')).toEqual([]);
    expect(app.copyText).not.toHaveBeenCalled();
    expect(app.openExternal).not.toHaveBeenCalled();
  });

  it("passes a trace to burrowd and its report back, checked against the report's schema", async () => {
    const { api, broker } = await setup();
    const reply = await broker.call('trace', { target: 'bobs-pi', proto: 'tcp', port: 80 });
    expect(reply).toMatchObject({
      ok: true,
      response: { exitCode: 1, blockedAt: 'peer-verdict', cause: 'bob has Shields Up on bobs-pi' },
    });
    expect(api.calls.filter((c) => c !== 'events')).toEqual(['trace']);
  });

  it("passes burrowd's refusal on with its status", async () => {
    const { broker } = await setup();
    expect(await broker.call('setPrefs', { exitNode: 'ghost' })).toEqual({
      ok: false,
      error: { error: 'no peer "ghost"', status: 404 },
    });
  });

  it('says burrowd is not running, with status 0, when there is no socket', async () => {
    const { api, broker } = await setup({ installedPaths: [] });
    await api.stop();
    const reply = await broker.call('status', {});
    expect(reply).toEqual({ ok: false, error: { error: `no LocalAPI at ${api.socketPath}`, status: 0 } });
    expect(await broker.call('helperState', {})).toMatchObject({
      ok: true,
      response: { state: 'not-installed', socket: api.socketPath },
    });
    const installed = createBroker({
      socketPath: api.socketPath,
      platform: platform(),
      installedPaths: [api.socketPath, '/'],
    });
    cleanups.push(() => installed.close());
    expect(await installed.helperState()).toMatchObject({
      state: 'not-running',
      detail: expect.stringContaining('sudo systemctl start burrowd'),
    });
  });

  it('says not running when a killed burrowd left its socket behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-main-'));
    cleanups.push(() => rmSync(dir, { recursive: true }));
    const socketPath = join(dir, 'burrowd.sock');
    // A socket bound but never listened on: what is left after a kill -9.
    execFileSync('python3', [
      '-c',
      'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])',
      socketPath,
    ]);
    const broker = createBroker({ socketPath, platform: platform(), installedPaths: ['/'] });
    cleanups.push(() => broker.close());
    expect(await broker.helperState()).toEqual({
      state: 'not-running',
      socket: socketPath,
      detail: `burrowd is installed but not running (nothing answers at ${socketPath}). Start it with: sudo systemctl start burrowd`,
    });
  });

  it('sends app calls to the platform, and checks their answers', async () => {
    const { app, broker } = await setup();
    expect(await broker.call('copyText', { text: '100.64.0.2' })).toEqual({ ok: true, response: {} });
    expect(app.copyText).toHaveBeenCalledWith('100.64.0.2');
    expect(await broker.call('openLogin', { url: 'https://burrow.example.com/login' })).toEqual({
      ok: true,
      response: {},
    });
    expect(app.openExternal).toHaveBeenCalledWith('https://burrow.example.com/login');
    expect(await broker.call('helperState', {})).toEqual({
      ok: true,
      response: { state: 'running', socket: expect.any(String), detail: 'burrowd 0.1.0-test is running' },
    });
    app.installHelper.mockResolvedValueOnce({ installed: 'yes' } as never);
    expect(await broker.call('installHelper', {})).toMatchObject({
      ok: false,
      error: { status: 500, error: expect.stringMatching(/response\.installed: expected true or false/) },
    });
    app.copyText.mockRejectedValueOnce(new Error('no clipboard'));
    expect(await broker.call('copyText', { text: 'x' })).toEqual({
      ok: false,
      error: { error: 'copyText failed: no clipboard', status: 500 },
    });
  });

  it('runs one install at a time', async () => {
    const { app, broker } = await setup();
    const [a, b] = await Promise.all([broker.call('installHelper', {}), broker.call('installHelper', {})]);
    expect(a).toEqual({
      ok: true,
      response: { installed: true, detail: 'burrowd is installed and running' },
    });
    expect(b).toEqual(a);
    expect(app.installHelper).toHaveBeenCalledTimes(1);
  });
});

describe('socket ownership', () => {
  it('refuses a socket not owned by the expected uid, without connecting', async () => {
    const { api, broker } = await setup({ socketOwner: 4242 });
    const events = collect();
    broker.subscribe(events.listener);
    const reply = await broker.call('status', {});
    expect(reply).toMatchObject({ ok: false, error: { status: 0 } });
    if (!reply.ok)
      expect(reply.error.error).toMatch(/is owned by root, not uid 4242; the app will not talk to it/);
    expect(await broker.helperState()).toMatchObject({
      state: 'untrusted-socket',
      detail: expect.stringMatching(/owned by root, not uid 4242/),
    });
    await events.until((e) => e.type === 'state');
    expect(events.events).toEqual([{ type: 'state', backendState: 'stopped', authUrl: null }]);
    await new Promise((r) => setTimeout(r, 150)); // several reconnect attempts
    expect(api.calls).toEqual([]); // not even the event stream
  });

  it('accepts a socket owned by root (uid 0, the default)', async () => {
    const { broker } = await setup();
    expect(process.getuid?.()).toBe(0); // the test's socket is owned by root
    expect(await broker.helperState()).toMatchObject({ state: 'running' });
  });

  it('refuses a socket in a directory others can change, and a file that is not a socket', async () => {
    const { api, broker } = await setup();
    chmodSync(dirname(api.socketPath), 0o777);
    expect(await broker.helperState()).toMatchObject({
      state: 'untrusted-socket',
      detail: expect.stringMatching(/which users other than root can change/),
    });
    const dir = mkdtempSync(join(tmpdir(), 'burrow-main-'));
    cleanups.push(() => rmSync(dir, { recursive: true }));
    writeFileSync(join(dir, 'burrowd.sock'), '');
    const fake = createBroker({ socketPath: join(dir, 'burrowd.sock'), platform: platform() });
    cleanups.push(() => fake.close());
    expect(await fake.call('status', {})).toMatchObject({
      ok: false,
      error: { status: 0, error: expect.stringMatching(/is not a unix socket/) },
    });
  });
});

describe('broker events', () => {
  it('fans events out, and replays the latest to a late subscriber', async () => {
    const { api, broker } = await setup();
    const a = collect();
    const b = collect();
    const unsubscribeA = broker.subscribe(a.listener);
    broker.subscribe(b.listener);
    await a.until((e) => e.type === 'state');
    api.send({ type: 'invites', shares: SHARES });
    await broker.call('setPrefs', { shieldsUp: true }); // burrowd sends a netmap
    await a.until((e) => e.type === 'netmap');
    await b.until((e) => e.type === 'netmap');
    expect(a.events.map((e) => e.type)).toEqual(['state', 'invites', 'netmap']);
    expect(b.events).toEqual(a.events);

    unsubscribeA();
    const late = collect();
    broker.subscribe(late.listener);
    expect(late.events).toEqual(a.events); // one of each, the latest
    api.send({ type: 'state', backendState: 'stopped', authUrl: null });
    await b.until((e) => e.type === 'state', 3);
    expect(a.events).toHaveLength(3);
  });

  it('survives a listener that throws', async () => {
    const { broker } = await setup();
    const good = collect();
    broker.subscribe(() => {
      throw new Error('broken listener');
    });
    broker.subscribe(good.listener);
    await good.until((e) => e.type === 'state');
  });

  it('says stopped while burrowd is gone, and follows it again after a restart', async () => {
    const { api, broker } = await setup();
    const seen = collect();
    broker.subscribe(seen.listener);
    await seen.until((e) => e.type === 'state' && e.backendState === 'running');
    await api.stop();
    await seen.until((e) => e.type === 'state' && e.backendState === 'stopped');
    const outage = seen.events.length;
    await new Promise((r) => setTimeout(r, 200)); // retries while down: no repeated "stopped"
    expect(seen.events).toHaveLength(outage);
    await api.start();
    await seen.until((e) => e.type === 'state' && e.backendState === 'running', outage);
    expect(seen.events.map((e) => (e.type === 'state' ? e.backendState : e.type))).toEqual([
      'running',
      'stopped',
      'running',
    ]);
    await broker.call('setPrefs', { shieldsUp: true });
    await seen.until((e) => e.type === 'netmap');
  });

  it('reconnects at once after installing burrowd', async () => {
    const { api, broker } = await setup({ reconnect: { minMs: 60_000, maxMs: 60_000 } });
    const seen = collect();
    broker.subscribe(seen.listener);
    await seen.until((e) => e.type === 'state' && e.backendState === 'running');
    await api.stop();
    await seen.until((e) => e.type === 'state' && e.backendState === 'stopped');
    await api.start();
    expect(await broker.call('installHelper', {})).toMatchObject({ ok: true, response: { installed: true } });
    await seen.until((e) => e.type === 'state' && e.backendState === 'running', 2);
  });
});
