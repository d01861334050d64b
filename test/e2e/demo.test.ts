/**
 * The README's main job, `npm run demo`, as a user runs it in a terminal: it comes up, the sloth
 * webcam answers across networks, and Ctrl-C (SIGINT to the whole process group, npm and tsx
 * included) removes every namespace it made.
 */
import { execFileSync, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isRoot } from '../support/netns.js';
import { REPO } from '../support/wg-peers.js';

const namespaces = () =>
  new Set(
    execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter(Boolean),
  );

describe.skipIf(!isRoot())('npm run demo', () => {
  it('comes up, reaches the webcam across networks, and Ctrl-C leaves no namespace behind', async () => {
    const before = namespaces();
    // Its own process group, like a terminal's foreground job.
    const demo = spawn('npm', ['run', 'demo'], {
      cwd: REPO,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    demo.stdout.on('data', (d) => (out += d));
    demo.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 150_000;
      while (!out.includes('Ctrl-C stops the demo')) {
        if (demo.exitCode !== null || Date.now() > deadline)
          throw new Error(`the demo did not come up:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(out).toMatch(/phone \(shared with carol\) -> webcam: .*sloth/);
      const made = [...namespaces()].filter((n) => !before.has(n));
      expect(made.length).toBeGreaterThanOrEqual(5);
      process.kill(-demo.pid!, 'SIGINT');
      await exited;
      expect(out).toContain('done.');
      expect([...namespaces()].filter((n) => made.includes(n))).toEqual([]);
    } finally {
      if (demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid!, 'SIGKILL');
      // Whatever the demo failed to remove, so that a failure here leaves nothing either.
      for (const n of namespaces()) if (!before.has(n)) execFileSync('ip', ['netns', 'del', n]);
    }
  }, 240_000);
});
