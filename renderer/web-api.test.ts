import { afterEach, describe, expect, it, vi } from 'vitest';
import { validatedApi } from './api.js';
import type { BurrowError } from './burrow-error.js';
import { type FakeBroker, Refusal, startFakeBroker } from './test-support/fake-broker.js';
import { PREFS, STATUS } from './test-support/fixtures.js';
import { NodeEventSource } from './test-support/node-event-source.js';
import { createWebApi, takeToken } from './web-api.js';

let broker: FakeBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

async function setUp(options: { token?: string; origin?: string } = {}) {
  broker = await startFakeBroker({
    handlers: {
      status: () => STATUS,
      setPrefs: (patch) => ({ ...PREFS, ...(patch as object) }),
      getPrefs: () => {
        throw new Refusal(0, 'burrowd is not running: connect ENOENT /run/burrow/burrowd.sock');
      },
      listShares: () => {
        throw new Refusal(409, 'not signed in');
      },
      login: () => {
        throw new Error('crash');
      },
      ping: () => ({ peer: 'desk', ip: 'not an ip', ms: 3, path: 'direct' }),
    },
  });
  const problems: BurrowError[] = [];
  const clipboard: string[] = [];
  const opened: string[] = [];
  const report = (e: BurrowError) => problems.push(e);
  const raw = createWebApi({
    origin: options.origin ?? broker.origin,
    token: options.token ?? broker.token,
    fetch,
    openEvents: (url) => new NodeEventSource(url),
    writeClipboard: async (text) => {
      clipboard.push(text);
    },
    openWindow: (url) => opened.push(url),
    report,
    retryMs: 20,
  });
  return { broker, api: validatedApi(raw, report), problems, clipboard, opened };
}

describe('web mode calls', () => {
  it('POSTs the JSON request with the bearer token and returns the checked answer', async () => {
    const { api, broker } = await setUp();
    expect(await api.call('status', {})).toEqual(STATUS);
    expect((await api.call('setPrefs', { shieldsUp: true })).shieldsUp).toBe(true);
    expect(broker.calls).toEqual([
      { name: 'status', request: {} },
      { name: 'setPrefs', request: { shieldsUp: true } },
    ]);
  });

  it('surfaces refusals with the body’s message and status (0 for burrowd away, sent as HTTP 503)', async () => {
    const { api } = await setUp();
    await expect(api.call('getPrefs', {})).rejects.toMatchObject({
      message: expect.stringContaining('burrowd is not running'),
      status: 0,
    });
    await expect(api.call('listShares', {})).rejects.toMatchObject({ message: 'not signed in', status: 409 });
    await expect(api.call('login', {})).rejects.toMatchObject({ status: 500 });
  });

  it('refuses a wrong token as 401', async () => {
    const { api } = await setUp({ token: 'wrong' });
    await expect(api.call('status', {})).rejects.toMatchObject({ message: 'bad token', status: 401 });
  });

  it('refuses an answer that breaks the schema', async () => {
    const { api } = await setUp();
    await expect(api.call('ping', { peer: 'desk' })).rejects.toMatchObject({
      message: expect.stringContaining('ping.ip'),
      status: 502,
    });
  });

  it('reports no answer at all as status 0', async () => {
    const { api } = await setUp({ origin: 'http://127.0.0.1:9' });
    await expect(api.call('status', {})).rejects.toMatchObject({ status: 0 });
  });

  it('copies and opens the login page in the browser itself, without the broker', async () => {
    const { api, broker, clipboard, opened } = await setUp();
    await api.call('copyText', { text: '100.64.0.1' });
    await api.call('openLogin', { url: 'https://burrow.example.com/login/x' });
    await expect(api.call('openLogin', { url: 'file:///etc/passwd' })).rejects.toMatchObject({ status: 400 });
    expect(clipboard).toEqual(['100.64.0.1']);
    expect(opened).toEqual(['https://burrow.example.com/login/x']);
    expect(broker.calls).toEqual([]);
  });
});

describe('web mode events', () => {
  it('delivers valid events and refuses malformed ones', async () => {
    const { api, broker, problems } = await setUp();
    const got: unknown[] = [];
    const stop = api.onEvent((e) => got.push(e));
    await broker.streams(1);
    broker.send('{not json');
    broker.send(JSON.stringify({ type: 'netmap', status: { ...STATUS, peers: 'all of them' } }));
    broker.send(JSON.stringify({ type: 'state', backendState: 'starting', authUrl: null }));
    await vi.waitFor(() => expect(got).toHaveLength(1), { interval: 5 });
    expect(got[0]).toEqual({ type: 'state', backendState: 'starting', authUrl: null });
    expect(problems.map((p) => p.message)).toEqual([
      'ignored an event that was not JSON',
      expect.stringContaining('event.status.peers'),
    ]);
    stop();
  });

  it('reopens a stream the server refused, after reporting it', async () => {
    const { api, broker, problems } = await setUp({ token: 'wrong' });
    const stop = api.onEvent(() => {});
    await vi.waitFor(() => expect(broker.streamsOpened).toBeGreaterThanOrEqual(2), { interval: 5 });
    stop();
    expect(problems[0]).toMatchObject({ status: 0, message: expect.stringContaining('event stream') });
  });
});

describe('takeToken', () => {
  const storage = () => {
    const items = new Map<string, string>();
    return {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => void items.set(k, v),
    };
  };

  it('takes the token from the fragment and removes it from the address bar', () => {
    const replaced: string[] = [];
    const history = {
      state: null,
      replaceState: (_s: unknown, _t: string, url?: string | URL | null) => void replaced.push(String(url)),
    };
    const kept = storage();
    expect(takeToken({ hash: '#token=abc_DEF-1', pathname: '/', search: '?x=1' }, history, kept)).toBe(
      'abc_DEF-1',
    );
    expect(replaced).toEqual(['/?x=1']);
    // A reload has no fragment any more: the tab's copy serves.
    expect(takeToken({ hash: '', pathname: '/', search: '' }, history, kept)).toBe('abc_DEF-1');
    expect(replaced).toHaveLength(1);
  });

  it('is empty when there was never a token', () => {
    const history = { state: null, replaceState: () => {} };
    expect(takeToken({ hash: '', pathname: '/', search: '' }, history, storage())).toBe('');
  });
});
