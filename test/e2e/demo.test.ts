/**
 * The README's main job, `npm run demo`, as a user runs it in a terminal: it comes up, the sloth
 * webcam answers across networks, the laptop's UI opens (in Electron when its binary is installed,
 * here the stand-in binary of test/support/stand-in-electron.ts, else in web mode), and Ctrl-C
 * (SIGINT to the whole process group, npm and tsx included) removes every namespace it made.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot, waitFor } from '../support/netns.js';
import { reportsIn, standInElectronDist } from '../support/stand-in-electron-dist.js';
import { REPO } from '../support/wg-peers.js';

const namespaces = () =>
  new Set(
    execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter(Boolean),
  );

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * Runs the demo with `env` until it is up, calls `whileUp` with its output so far and a way to
 * type into it, then stops it with Ctrl-C and checks that it removed its namespaces (the ones it
 * names: other tests may be making namespaces on this machine at the same time).
 */
async function demo(
  env: NodeJS.ProcessEnv,
  whileUp: (output: () => string, type: (line: string) => void) => Promise<void>,
): Promise<string> {
  // Its own process group, like a terminal's foreground job.
  const child = spawn('npm', ['run', 'demo'], {
    cwd: REPO,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let made: string[] = [];
  try {
    const deadline = Date.now() + 150_000;
    while (!out.includes('Ctrl-C stops the demo')) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the demo did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(out).toMatch(/phone \(shared with carol\) -> webcam: .*sloth/);
    const line = /^network namespaces: (.*)$/m.exec(out)?.[1] ?? '';
    made = line.split(', ').map((part) => part.split(' ').at(-1)!);
    expect(made).toHaveLength(6);
    expect(made.filter((n) => namespaces().has(n))).toEqual(made);
    await whileUp(
      () => out,
      (line) => child.stdin.write(`${line}\n`),
    );
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    expect(out).toContain('done.');
    expect(made.filter((n) => namespaces().has(n))).toEqual([]);
    return out;
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    // Whatever the demo failed to remove, so that a failure here leaves nothing either.
    for (const n of made) if (namespaces().has(n)) execFileSync('ip', ['netns', 'del', n]);
  }
}

describe.skipIf(!isRoot())('npm run demo', () => {
  it("without Electron's binary: the laptop's UI in web mode, and Ctrl-C leaves no namespace behind", async () => {
    const empty = mkdtempSync(join(tmpdir(), 'burrow-no-electron-'));
    cleanups.push(() => rmSync(empty, { recursive: true, force: true }));
    await demo({ ELECTRON_OVERRIDE_DIST_PATH: empty, DISPLAY: ':0' }, async (output) => {
      const url = /Electron is not installed here: the laptop's Burrow UI is in web mode at\n {2}(\S+)/.exec(
        output(),
      )?.[1];
      expect(url, output()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
      expect((await fetch(url!)).status).toBe(200);
      expect(reportsIn(output())).toEqual([]);
    });
  }, 240_000);

  it("with Electron's binary and a display: the built app opens as the user who ran sudo, the laptop's operator", async () => {
    const electron = standInElectronDist();
    cleanups.push(electron.remove);
    const began = Date.now();
    let pid = 0;
    await demo(
      {
        ELECTRON_OVERRIDE_DIST_PATH: electron.dir,
        DISPLAY: ':0',
        // As `sudo npm run demo` from nobody's desktop: a real second uid.
        SUDO_UID: '65534',
        SUDO_GID: '65534',
        SUDO_USER: 'nobody',
      },
      async (output, type) => {
        const reports = () => reportsIn(output());
        await waitFor(
          "the laptop's netmap in the app's window",
          async () =>
            reports().find(
              (r) => r.what === 'send' && r.type === 'netmap' && (r.peers as string[]).includes('webcam'),
            ),
          20_000,
          100,
        );
        const started = reports().find((r) => r.what === 'started')!;
        pid = started.pid as number;
        expect(started).toMatchObject({ uid: 65534, app: REPO, main: join(REPO, 'dist/main/index.cjs') });
        expect(started.argv).toEqual([REPO, '--socket', expect.stringMatching(/\/laptop\.sock$/)]);
        expect(statSync(join(REPO, 'dist/main/index.cjs')).mtimeMs).toBeGreaterThanOrEqual(began - 1000);
        expect(output()).toContain(
          "The laptop's Burrow app opens in Electron (as nobody, the laptop burrowd's operator)",
        );
        // The operator may change settings: the window's page turns Shields Up on.
        type('call setPrefs {"shieldsUp":true}');
        const reply = await waitFor(
          'the reply',
          async () => reports().find((r) => r.what === 'reply'),
          10_000,
        );
        expect(reply.reply).toMatchObject({ ok: true, response: { shieldsUp: true } });
      },
    );
    // Ctrl-C ended the app too (it may take a moment to be reaped).
    await waitFor('the app to end', async () => !existsSync(`/proc/${pid}`), 5_000, 50);
  }, 240_000);
});
