/**
 * bench:ui — how long from a netmap change until the UI shows it, and the renderer's bundle size.
 * Needs root and Debian's chromium. A two-device network in namespaces (real server, real
 * burrowd), the real UI through web mode in headless Chromium. Each round an admin renames the
 * peer. Three moments are taken, all on one clock (the system's wall clock, Date.now() in this
 * process and in the page): the rename starts; burrowd's event stream carries the new map (as a
 * LocalAPI client of burrowd sees it, like the app's); the page's MutationObserver sees the new
 * name on screen. Printed raw, nothing clamped: the distribution of rename -> screen and of
 * burrowd -> screen over BENCH_ROUNDS rounds (a negative burrowd -> screen would mean the page
 * heard first), with p95 as a ratio to the 300 ms bar (there is no peer figure).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { LocalApiClient } from '../src/localapi/client.js';
import { MeshLab } from '../test/support/mesh-lab.js';
import { cleanupAll, waitFor } from '../test/support/netns.js';
import { REPO } from '../test/support/wg-peers.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const BAR_MS = 300;

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

function bundleSizes(): string {
  const dir = join(REPO, 'dist/renderer');
  let raw = 0;
  let gzip = 0;
  for (const f of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, f));
    raw += bytes.length;
    gzip += gzipSync(bytes).length;
  }
  return `bundle_bytes=${raw} bundle_gzip_bytes=${gzip}`;
}

async function main(): Promise<void> {
  await promisify(execFile)(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'scripts/build-ui.ts')], {
    cwd: REPO,
  });
  const lab = await MeshLab.create();
  let server: ChildProcess | undefined;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    await lab.admin('users', 'create', 'alice');
    await lab.startServer();
    const [a, b] = await Promise.all([lab.device('a'), lab.device('b')]);
    for (const d of [a!, b!]) await lab.join(d, 'alice');
    server = spawn(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'main/web.ts'), '--socket', a!.socket], {
      cwd: REPO,
    });
    let out = '';
    server.stdout?.on('data', (d) => (out += d));
    const url = await waitFor(
      'the web UI',
      async () => /(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(out)?.[1],
      30_000,
    );
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByTestId('peer-b').waitFor({ timeout: 20_000 });
    // The page records when each name first appears on screen (wall-clock ms).
    await page.evaluate(`(() => {
      window.__seen = {};
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-testid^="peer-"]')) {
          const name = el.getAttribute('data-testid').slice(5);
          if (!(name in window.__seen)) window.__seen[name] = Date.now();
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);

    const inBurrowd = new Map<string, number>();
    const client = new LocalApiClient(a!.socket);
    const stop = client.events(
      (event) => {
        if (event.type !== 'netmap') return;
        for (const p of event.status.peers)
          if (!inBurrowd.has(p.hostName)) inBurrowd.set(p.hostName, Date.now());
      },
      () => undefined,
    );
    const fromBurrowd: number[] = [];
    const fromRename: number[] = [];
    let current = 'b';
    for (let r = 0; r < ROUNDS; r++) {
      const next = `b${r}`;
      const renamed = Date.now();
      await lab.admin('devices', 'rename', current, next);
      current = next;
      const shown = await waitFor(
        `"${next}" on screen`,
        async () => page.evaluate(`window.__seen[${JSON.stringify(next)}]`) as Promise<number | undefined>,
        10_000,
        10,
      );
      const changed = await waitFor(`"${next}" in burrowd`, async () => inBurrowd.get(next), 10_000, 10);
      fromBurrowd.push(shown - changed);
      fromRename.push(shown - renamed);
      await new Promise((r) => setTimeout(r, 100));
    }
    stop();
    const line = (what: string, xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      console.log(
        `${what}, ${ROUNDS} rounds: min ${sorted[0]} ms, p50 ${percentile(xs, 50)} ms, p95 ${percentile(xs, 95)} ms, max ${sorted.at(-1)} ms (p95 ${(percentile(xs, 95) / BAR_MS).toFixed(2)}x of the ${BAR_MS} ms bar)\n  all: ${sorted.join(' ')}`,
      );
    };
    line('rename -> on screen', fromRename);
    line('netmap change in burrowd -> on screen', fromBurrowd);
    console.log(
      `ui: rounds=${ROUNDS} burrowd_p50_ms=${percentile(fromBurrowd, 50)} burrowd_p95_ms=${percentile(fromBurrowd, 95)} rename_p50_ms=${percentile(fromRename, 50)} rename_p95_ms=${percentile(fromRename, 95)} ${bundleSizes()}`,
    );
  } finally {
    await browser.close();
    server?.kill();
    await lab.destroy();
    await cleanupAll();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
