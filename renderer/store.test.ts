import { describe, expect, it, vi } from 'vitest';
import { sampleTrace } from '../test/support/sample-traces.js';
import { BurrowError } from './burrow-error.js';
import { burrowdAway, createBurrowStore } from './store.js';
import { fakeApi, type Handlers } from './test-support/fake-api.js';
import { NOW, PREFS, SHARES, STATUS } from './test-support/fixtures.js';

const refused = (status: number, error: string) => () => {
  throw { error, status };
};

async function started(handlers: Handlers = {}) {
  const api = fakeApi(handlers);
  const store = createBurrowStore(api);
  const stop = store.getState().start();
  await vi.waitFor(() => expect(store.getState().loaded).toBe(true), { interval: 1 });
  return { api, store, stop };
}

describe('initial load', () => {
  it('fetches status, prefs, shares and the helper state, and subscribes to events', async () => {
    const { api, store } = await started();
    const s = store.getState();
    expect(api.calls.map((c) => c.name).sort()).toEqual(['getPrefs', 'helperState', 'listShares', 'status']);
    expect(api.listeners).toBe(1);
    expect(s.status).toEqual(STATUS);
    expect(s.backendState).toBe('running');
    expect(s.prefs).toEqual(PREFS);
    expect(s.shares).toEqual(SHARES);
    expect(s.helper?.state).toBe('running');
    expect(burrowdAway(s)).toBe(false);
    expect(s.notices).toEqual([]);
  });

  it('stops following events when told', async () => {
    const { api, stop } = await started();
    stop();
    expect(api.listeners).toBe(0);
  });

  it('marks burrowd away, without a notice, when the basic calls get no answer', async () => {
    const { store } = await started({
      status: refused(0, 'burrowd is not running'),
      getPrefs: refused(503, 'x'),
    });
    const s = store.getState();
    expect(s.unreachable).toMatchObject({ status: 0, message: 'burrowd is not running' });
    expect(burrowdAway(s)).toBe(true);
    expect(s.notices).toEqual([]);
  });

  it('marks burrowd away when the helper is not installed, even if nothing else says so', async () => {
    const { store } = await started({
      helperState: () => ({
        state: 'not-installed',
        socket: '/run/burrow/burrowd.sock',
        detail: 'no burrowd',
      }),
    });
    expect(burrowdAway(store.getState())).toBe(true);
  });

  it('keeps a failed share list apart (it fails whenever the user is signed out) and reports other failures', async () => {
    const { store } = await started({
      listShares: refused(409, 'not signed in'),
      getPrefs: refused(500, 'prefs are corrupt'),
    });
    const s = store.getState();
    expect(s.sharesError).toBe('not signed in');
    expect(s.notices.map((n) => [n.message, n.status])).toEqual([['prefs are corrupt', 500]]);
    expect(burrowdAway(s)).toBe(false);
  });
});

describe('events', () => {
  it('netmap replaces the status and keeps the prefs it reflects in step', async () => {
    const { api, store } = await started();
    const status = { ...STATUS, shieldsUp: true, exitNode: 'n-gw', peers: STATUS.peers.slice(0, 1) };
    api.emit({ type: 'netmap', status });
    const s = store.getState();
    expect(s.status).toEqual(status);
    expect(s.prefs).toMatchObject({ shieldsUp: true, exitNode: 'n-gw', controlUrl: PREFS.controlUrl });
  });

  it('state sets the backend state and login URL', async () => {
    const { api, store } = await started();
    api.emit({ type: 'state', backendState: 'needs-login', authUrl: 'https://burrow.example.com/login/abc' });
    const s = store.getState();
    expect(s.backendState).toBe('needs-login');
    expect(s.authUrl).toBe('https://burrow.example.com/login/abc');
    expect(s.status?.backendState).toBe('needs-login');
  });

  it('invites replaces the share list and clears an earlier failure to list it', async () => {
    const { api, store } = await started({ listShares: refused(503, 'control server away') });
    expect(store.getState().sharesError).toBe('control server away');
    const shares = { ...SHARES, incoming: [] };
    api.emit({ type: 'invites', shares });
    expect(store.getState().shares).toEqual(shares);
    expect(store.getState().sharesError).toBeNull();
  });

  it('any event means burrowd is back', async () => {
    const { api, store } = await started({ status: refused(0, 'no answer') });
    expect(burrowdAway(store.getState())).toBe(true);
    api.emit({ type: 'state', backendState: 'running', authUrl: null });
    expect(burrowdAway(store.getState())).toBe(false);
  });
});

describe('actions', () => {
  it('setPrefs stores the prefs burrowd answers with, and marks itself pending meanwhile', async () => {
    let release = () => {};
    const { api, store } = await started({
      setPrefs: (patch) =>
        new Promise((resolve) => {
          release = () => resolve({ ...PREFS, ...patch } as typeof PREFS);
        }),
    });
    const done = store.getState().setPrefs({ shieldsUp: true });
    expect(store.getState().pending.setPrefs).toBe(true);
    release();
    await done;
    expect(api.calls.at(-1)).toEqual({ name: 'setPrefs', request: { shieldsUp: true } });
    expect(store.getState().prefs?.shieldsUp).toBe(true);
    expect(store.getState().status?.shieldsUp).toBe(true);
    expect(store.getState().pending).toEqual({});
  });

  it('a refusal becomes a notice with burrowd’s words and status; repeats are not stacked', async () => {
    const { store } = await started({ acceptShare: refused(409, 'invite inv-in is already declined') });
    expect(await store.getState().acceptShare('inv-in')).toBe(false);
    await store.getState().acceptShare('inv-in');
    expect(store.getState().notices.map((n) => [n.message, n.status])).toEqual([
      ['invite inv-in is already declined', 409],
    ]);
    expect(store.getState().pending).toEqual({});
    store.getState().dismiss(store.getState().notices[0]!.id);
    expect(store.getState().notices).toEqual([]);
  });

  it('keeps only the latest few notices', async () => {
    const { store } = await started();
    for (let i = 0; i < 5; i++) store.getState().report(new BurrowError(`problem ${i}`, 502));
    expect(store.getState().notices.map((n) => n.message)).toEqual(['problem 2', 'problem 3', 'problem 4']);
  });

  it('a 503 from an action refetches, to tell burrowd away from the control server away', async () => {
    let statusUp = true;
    const { api, store } = await started({
      status: () => {
        if (statusUp) return STATUS;
        throw { error: 'burrowd is not running', status: 503 };
      },
      revokeShare: refused(503, 'burrowd is not running'),
    });
    statusUp = false;
    await store.getState().revokeShare('sh-desk');
    await vi.waitFor(() => expect(burrowdAway(store.getState())).toBe(true), { interval: 1 });
    expect(api.calls.filter((c) => c.name === 'status')).toHaveLength(2);
  });

  it('connect and disconnect follow the backend state burrowd answers with', async () => {
    const { api, store } = await started({
      up: () => ({ backendState: 'needs-login', authUrl: 'https://burrow.example.com/a/1' }),
      down: () => ({ backendState: 'stopped' }),
    });
    await store.getState().connect({ controlUrl: 'https://burrow.example.com', authKey: 'k' });
    expect(api.calls.find((c) => c.name === 'up')?.request).toEqual({
      controlUrl: 'https://burrow.example.com',
      authKey: 'k',
    });
    expect(store.getState()).toMatchObject({
      backendState: 'needs-login',
      authUrl: 'https://burrow.example.com/a/1',
    });
    await store.getState().disconnect();
    expect(store.getState()).toMatchObject({ backendState: 'stopped', authUrl: null });
  });

  it('after signing in with a server URL, the prefs hold that URL (the form shows it)', async () => {
    let prefs = { ...PREFS, controlUrl: '' };
    const { store } = await started({
      getPrefs: () => prefs,
      up: (request) => {
        prefs = { ...prefs, controlUrl: (request as { controlUrl: string }).controlUrl };
        return { backendState: 'needs-login', authUrl: 'https://burrow.example.com/a/1' };
      },
    });
    expect(store.getState().prefs?.controlUrl).toBe('');
    // The form re-mounts when the sign-in button appears: it must find the URL there at once.
    const urlsWithButton: (string | null | undefined)[] = [];
    store.subscribe((s) => {
      if (s.authUrl !== null) urlsWithButton.push(s.prefs?.controlUrl);
    });
    await store.getState().connect({ controlUrl: 'https://burrow.example.com' });
    expect(store.getState().prefs?.controlUrl).toBe('https://burrow.example.com');
    expect(urlsWithButton.length).toBeGreaterThan(0);
    expect(urlsWithButton.every((u) => u === 'https://burrow.example.com')).toBe(true);
  });

  it('createShare keeps the code to pass on until cleared', async () => {
    const invite = { ...SHARES.outgoing[0]!, recipient: 'bob', multiUse: false };
    const { store } = await started({ createShare: () => ({ invite, code: 'binv-abc' }) });
    await store.getState().createShare({ device: 'n-laptop', to: 'bob' });
    expect(store.getState().createdInvite).toEqual({ device: 'laptop', recipient: 'bob', code: 'binv-abc' });
    store.getState().clearCreatedInvite();
    expect(store.getState().createdInvite).toBeNull();
  });

  it('copy says whether it worked', async () => {
    let works = true;
    const { store } = await started({
      copyText: () => {
        if (works) return {};
        throw { error: 'no clipboard', status: 500 };
      },
    });
    expect(await store.getState().copy('100.64.0.1')).toBe(true);
    works = false;
    expect(await store.getState().copy('100.64.0.1')).toBe(false);
  });
});

describe('installHelper', () => {
  it('refetches once installed', async () => {
    const { api, store } = await started({ installHelper: () => ({ installed: true, detail: 'done' }) });
    await store.getState().installHelper();
    expect(store.getState().install).toEqual({ phase: 'installed', detail: 'done' });
    expect(api.calls.filter((c) => c.name === 'status')).toHaveLength(2);
  });

  it('shows a declined prompt and a failure without raising a notice', async () => {
    const { store } = await started({
      installHelper: () => ({ installed: false, detail: 'the user cancelled' }),
    });
    await store.getState().installHelper();
    expect(store.getState().install).toEqual({ phase: 'declined', detail: 'the user cancelled' });

    const failing = await started({ installHelper: refused(500, 'install script failed: exit 1') });
    await failing.store.getState().installHelper();
    expect(failing.store.getState().install).toEqual({
      phase: 'failed',
      detail: 'install script failed: exit 1',
    });
    expect(failing.store.getState().notices).toEqual([]);
  });
});

describe('the journey view (burrow trace)', () => {
  it('opens on a device and traces it at once, a ping unless told otherwise', async () => {
    const { api, store } = await started();
    store.getState().openJourney('desk');
    expect(store.getState().journey).toMatchObject({ target: 'desk', running: true, report: null });
    await vi.waitFor(() => expect(store.getState().journey?.running).toBe(false), { interval: 1 });
    expect(api.calls.filter((c) => c.name === 'trace')).toEqual([
      { name: 'trace', request: { target: 'desk', proto: 'icmp' } },
    ]);
    expect(store.getState().journey?.report).toMatchObject({ delivered: true, exitCode: 0 });
  });

  it('opens empty for a name to be typed, tracing nothing', async () => {
    const { api, store } = await started();
    store.getState().openJourney(null);
    expect(store.getState().journey).toMatchObject({ target: '', running: false });
    expect(api.calls.some((c) => c.name === 'trace')).toBe(false);
  });

  it('offers the protocol and port last traced to a device again', async () => {
    const { api, store } = await started();
    await store.getState().runTrace('nas', { proto: 'tcp', port: 445 });
    store.getState().openJourney('NAS');
    expect(store.getState().journey?.choice).toEqual({ proto: 'tcp', port: 445 });
    store.getState().openJourney('desk');
    expect(store.getState().journey?.choice).toEqual({ proto: 'icmp', port: null });
    await vi.waitFor(() => expect(store.getState().journey?.running).toBe(false), { interval: 1 });
    expect(api.calls.filter((c) => c.name === 'trace').map((c) => c.request)).toEqual([
      { target: 'nas', proto: 'tcp', port: 445 },
      { target: 'NAS', proto: 'tcp', port: 445 },
      { target: 'desk', proto: 'icmp' },
    ]);
  });

  it('shows the latest trace only: an earlier answer arriving late is dropped', async () => {
    let answerFirst: (r: unknown) => void = () => {};
    let n = 0;
    const { store } = await started({
      trace: (request) => {
        n += 1;
        if (n === 1) return new Promise((resolve) => (answerFirst = resolve as (r: unknown) => void));
        return sampleTrace(request, STATUS, NOW);
      },
    });
    store.getState().openJourney('desk');
    await store.getState().runTrace('nas', { proto: 'tcp', port: 80 });
    answerFirst(sampleTrace({ target: 'desk', proto: 'icmp' }, STATUS, NOW));
    await new Promise((r) => setTimeout(r, 5));
    expect(store.getState().journey).toMatchObject({ target: 'nas', running: false });
    expect(store.getState().journey?.report).toMatchObject({ blockedAt: 'peer-verdict' });
  });

  it('says in the view why burrowd gave no report, not as a notice', async () => {
    const { store } = await started({ trace: refused(429, 'too many traces: try again in a few seconds') });
    await store.getState().runTrace('desk', { proto: 'tcp', port: 80 });
    expect(store.getState().journey).toBeNull(); // not open: nothing to show it in
    store.getState().openJourney('desk');
    await vi.waitFor(() => expect(store.getState().journey?.running).toBe(false), { interval: 1 });
    expect(store.getState().journey).toMatchObject({
      report: null,
      error: 'too many traces: try again in a few seconds',
    });
    expect(store.getState().notices).toEqual([]);
  });

  it('closes, and an answer after that opens nothing', async () => {
    let answer: (r: unknown) => void = () => {};
    const { store } = await started({
      trace: () => new Promise((resolve) => (answer = resolve as (r: unknown) => void)),
    });
    store.getState().openJourney('desk');
    store.getState().closeJourney();
    answer(sampleTrace({ target: 'desk', proto: 'icmp' }, STATUS, NOW));
    await new Promise((r) => setTimeout(r, 5));
    expect(store.getState().journey).toBeNull();
  });
});
