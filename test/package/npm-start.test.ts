/**
 * `npm start` as a developer runs it: it builds the app from the checkout and starts Electron on
 * it, against the burrowd it is told (here burrowd's real LocalAPI on a temporary socket). Electron
 * is the stand-in binary (test/support/stand-in-electron.ts), found the way Electron's own package
 * finds it, through ELECTRON_OVERRIDE_DIST_PATH.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestLocalApi } from '../support/memory-localapi.js';
import { waitFor } from '../support/netns.js';
import { reportsIn, standInElectronDist } from '../support/stand-in-electron-dist.js';
import { REPO } from '../support/wg-peers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `npm start -- ARGS` in its own process group (killed, whole, at the end of the test). */
function npmStart(args: string[], electronDir: string) {
  const child: ChildProcess = spawn('npm', ['start', '--', ...args], {
    cwd: REPO,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: electronDir },
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
  });
  return { output: () => out, exited };
}

const mtime = (file: string) => statSync(join(REPO, file)).mtimeMs;

describe('npm start', () => {
  it('builds main, the preload and the UI, then starts Electron on the checkout against the given burrowd', async () => {
    const api = await startTestLocalApi();
    cleanups.push(() => api.dispose());
    const electron = standInElectronDist();
    cleanups.push(electron.remove);
    const began = Date.now();
    const flags = ['--socket', api.socketPath, '--socket-owner', String(process.getuid!())];
    const start = npmStart(flags, electron.dir);
    const reports = () => reportsIn(start.output());
    await waitFor(
      "burrowd's state in the app's window",
      async () => reports().find((r) => r.what === 'send' && r.backendState === 'running'),
      60_000,
      100,
    );
    const started = reports().find((r) => r.what === 'started')!;
    expect(started.app).toBe(REPO);
    expect(started.main).toBe(join(REPO, 'dist/main/index.cjs'));
    expect(started.argv).toEqual([...(process.getuid!() === 0 ? ['--no-sandbox'] : []), REPO, ...flags]);
    // Built by this run, not left over from an earlier one.
    for (const file of ['dist/main/index.cjs', 'dist/main/preload.cjs', 'dist/renderer/app.js'])
      expect(mtime(file), file).toBeGreaterThanOrEqual(began - 1000);
    expect(reports().find((r) => r.what === 'load')).toMatchObject({
      file: join(REPO, 'dist/renderer/index.html'),
      exists: true,
    });
    expect(api.calls).toContain('events');
  }, 90_000);

  it("without Electron's binary, says how to get it and starts nothing", async () => {
    const empty = mkdtempSync(join(tmpdir(), 'burrow-no-electron-'));
    cleanups.push(() => rmSync(empty, { recursive: true, force: true }));
    const start = npmStart([], empty);
    expect(await start.exited).toBe(1);
    expect(start.output()).toContain("Electron's binary is not installed");
    expect(start.output()).toContain('node node_modules/electron/install.js');
    expect(start.output()).toContain('npm run web');
    expect(reportsIn(start.output())).toEqual([]);
  }, 30_000);
});
