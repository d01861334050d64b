/**
 * The built main process (scripts/build-app.ts), run by the stand-in Electron binary against
 * burrowd's real LocalAPI: the window opens when the app starts and whenever it is launched again,
 * because on a desktop without a tray (GNOME) nothing else leads to it.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_CHANNEL } from '../../src/ipc/schema.js';
import { STATUS, startTestLocalApi, type TestLocalApi } from '../support/memory-localapi.js';
import { waitFor } from '../support/netns.js';
import {
  type Report,
  reportsIn,
  type StandInDist,
  standInElectronDist,
} from '../support/stand-in-electron-dist.js';
import { REPO } from '../support/wg-peers.js';

describe('the desktop app under a stand-in Electron', () => {
  let api: TestLocalApi;
  let dist: StandInDist;
  let electron: ChildProcessWithoutNullStreams;
  let out = '';
  const others: ChildProcessWithoutNullStreams[] = [];
  const reports = () => reportsIn(out);
  /** Waits for a report matching `match` after the first `after` reports; returns it. */
  const next = (what: string, match: (r: Report) => boolean, after: number) =>
    waitFor(what, async () => reports().slice(after).find(match), 10_000, 20);
  const send = (line: string) => electron.stdin.write(`${line}\n`);

  beforeAll(async () => {
    execFileSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/build-app.ts')], {
      stdio: 'pipe',
    });
    api = await startTestLocalApi();
    dist = standInElectronDist();
    electron = spawn(
      join(dist.dir, 'electron'),
      [REPO, '--socket', api.socketPath, '--socket-owner', String(process.getuid!())],
      { stdio: 'pipe' },
    );
    electron.stdout.on('data', (d) => (out += d));
    electron.stderr.on('data', (d) => (out += d));
  }, 60_000);

  afterAll(async () => {
    for (const p of [electron, ...others]) p?.kill();
    await api?.dispose();
    dist?.remove();
  });

  it('opens its window at start, with the built page and preload, showing what burrowd says', async () => {
    await next('the page loaded', (r) => r.what === 'load', 0);
    const [window] = reports().filter((r) => r.what === 'window');
    expect(window).toMatchObject({
      window: 1,
      preload: join(REPO, 'dist/main/preload.cjs'),
      sandbox: true,
      contextIsolation: true,
    });
    expect(reports().find((r) => r.what === 'load')).toMatchObject({
      file: join(REPO, 'dist/renderer/index.html'),
      exists: true,
    });
    await next('the window shown', (r) => r.what === 'show' && r.window === 1, 0);
    // burrowd's state reaches the page, and the tray says the same.
    await next(
      'the state sent to the page',
      (r) => r.what === 'send' && r.channel === EVENT_CHANNEL && r.backendState === 'running',
      0,
    );
    await next('the tray tooltip', (r) => r.what === 'tooltip' && r.text === 'Burrow: Connected', 0);
    const n = reports().length;
    send('call status {}');
    const reply = await next('the reply', (r) => r.what === 'reply', n);
    expect(reply.reply).toMatchObject({ ok: true, response: { version: '0.1.0-test' } });
  });

  it("the tray's Copy name puts a peer's full name on the desktop's clipboard, Copy IP its address", async () => {
    const peerMenu = ['Devices', '● bobs-pi  100.64.0.5  (shared)'];
    /** Clicks, again until the menu holds the item (the tray fills in once burrowd's status is in). */
    const click = (...path: string[]) =>
      waitFor(
        `a click on ${path.join(' > ')}`,
        async () => {
          const n = reports().length;
          send(`tray-click ${path.join(' > ')}`);
          const done = await next('the click', (r) => r.what === 'tray-click', n);
          return done.found ? n : undefined;
        },
        10_000,
        50,
      );
    // The map, as burrowd sends it: the tray's menu lists the peers from it.
    api.send({ type: 'netmap', status: STATUS });
    let n = await click(...peerMenu, 'Copy name (bobs-pi.bob.burrow.internal)');
    expect(await next('the copy', (r) => r.what === 'clipboard', n)).toMatchObject({
      text: 'bobs-pi.bob.burrow.internal',
    });
    n = await click(...peerMenu, 'Copy IP (100.64.0.5)');
    expect(await next('the copy', (r) => r.what === 'clipboard', n)).toMatchObject({ text: '100.64.0.5' });
    n = await click('This device: laptop (100.64.0.1)', 'Copy name (laptop.alice.burrow.internal)');
    expect(await next('the copy', (r) => r.what === 'clipboard', n)).toMatchObject({
      text: 'laptop.alice.burrow.internal',
    });
  });

  it('the tray\'s "Why can’t I reach…" opens the window on the journey view', async () => {
    const n = reports().length;
    send('tray-click Why can’t I reach…');
    expect(await next('the click', (r) => r.what === 'tray-click', n)).toMatchObject({ found: true });
    // The open window's page is sent to the view by its fragment, which the page follows.
    const load = await next('the view loaded', (r) => r.what === 'load-url', n);
    expect(load).toMatchObject({
      window: 1,
      url: `${pathToFileURL(join(REPO, 'dist/renderer/index.html')).href}#trace`,
    });
    await next('the window in front', (r) => r.what === 'focus' && r.window === 1, n);
  });

  it('a second launch brings the open window to the front, restoring it if minimised', async () => {
    let n = reports().length;
    send('second-instance');
    await next('focus', (r) => r.what === 'focus' && r.window === 1, n);
    n = reports().length;
    send('minimize');
    send('second-instance');
    await next('focus', (r) => r.what === 'focus' && r.window === 1, n);
    expect(
      reports()
        .slice(n)
        .map((r) => r.what),
    ).toEqual(['restore', 'show', 'focus']);
    expect(reports().filter((r) => r.what === 'window')).toHaveLength(1);
  });

  it('a launch after the window was closed opens a new one, which gets the latest events', async () => {
    const n = reports().length;
    send('close');
    send('second-instance');
    await next('a new window', (r) => r.what === 'window' && r.window === 2, n);
    await next('its page loaded', (r) => r.what === 'load' && r.window === 2, n);
    await next('the state replayed', (r) => r.what === 'send' && r.window === 2 && r.type === 'state', n);
    // Only the open window is sent anything.
    await new Promise((r) => setTimeout(r, 200));
    expect(
      reports()
        .slice(n)
        .filter((r) => r.what === 'send' && r.window === 1),
    ).toEqual([]);
  });

  it('refuses a bad flag of its own, saying which, and leaves Chromium switches alone', () => {
    const bad = spawn(join(dist.dir, 'electron'), [REPO, '--no-sandbox', '--socket-owner', 'alice'], {
      stdio: 'pipe',
    });
    others.push(bad);
    let output = '';
    bad.stdout.on('data', (d) => (output += d));
    bad.stderr.on('data', (d) => (output += d));
    return new Promise<void>((resolve) =>
      bad.on('exit', (code) => {
        expect(code).toBe(2);
        expect(output).toContain('Burrow: --socket-owner: "alice" is not a number');
        expect(reportsIn(output).filter((r) => r.what === 'window')).toEqual([]);
        resolve();
      }),
    );
  });
});
