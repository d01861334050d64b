/**
 * The real UI, in headless Chromium (playwright-core, Debian's chromium), through web mode
 * (`main/web.ts`), against real burrow-server and burrowd processes in namespaces. The UI belongs
 * to alice's device A; bob has B and C (C becomes an exit node); yves has D, which he shares.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNET_IP, type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';
import { REPO } from '../support/wg-peers.js';

const CHROMIUM = '/usr/bin/chromium';
const T = 120_000;
const SCREENSHOTS = process.env.BURROW_SCREENSHOTS; // a directory: the test saves each screen there

describe.skipIf(!isRoot() || !existsSync(CHROMIUM))('the UI, end to end', () => {
  let lab: MeshLab;
  let A: LabDevice;
  let B: LabDevice;
  let C: LabDevice;
  let D: LabDevice;
  let web: ChildProcess;
  let browser: Browser;
  let page: Page;
  const ip = async (d: LabDevice) => (await d.status()).self!.ips[0]!;
  const shot = async (name: string) => {
    if (!SCREENSHOTS) return;
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
  };

  beforeAll(async () => {
    await promisify(execFile)(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'scripts/build-ui.ts')], {
      cwd: REPO,
    });
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'team');
    await lab.admin('users', 'create', 'bob', '--network', 'team');
    await lab.admin('users', 'create', 'yves');
    await lab.startServer();
    [A, B, C, D] = (await Promise.all(['a', 'b', 'c', 'd'].map((n) => lab.device(n)))) as [
      LabDevice,
      LabDevice,
      LabDevice,
      LabDevice,
    ];
    for (const [device, user] of [
      [A, 'alice'],
      [B, 'bob'],
      [C, 'bob'],
      [D, 'yves'],
    ] as const) {
      await lab.join(device, user);
    }
    web = spawn(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'main/web.ts'), '--socket', A.socket], {
      cwd: REPO,
    });
    let out = '';
    web.stdout?.on('data', (d) => (out += d));
    const url = await waitFor(
      'the web UI URL',
      async () => /(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(out)?.[1],
      30_000,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
    page = await context.newPage();
    await page.goto(url);
    await waitFor(
      'the UI connected',
      async () => (await page.getByTestId('backend-state').textContent()) === 'Connected',
      20_000,
    );
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    web?.kill();
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'shows how a peer is reached once there is traffic, and copies its address to the clipboard',
    async () => {
      await page.getByTestId('tab-devices').click();
      await page.getByTestId('peer-b').waitFor();
      // Traffic to B: the list then shows how B is reached, without a reload.
      await A.ns.exec('ping', ['-c', '2', '-i', '0.3', '-W', '2', await ip(B)]);
      const path = page.getByTestId('peer-b').getByTestId('peer-path');
      await waitFor(
        'the path to B on screen',
        async () => /^Direct 10\.99\.0\.\d+:\d+/.test((await path.textContent()) ?? ''),
        10_000,
      );
      await shot('devices');
      await page.getByTestId('copy-b').click();
      // A string: this file is compiled without the DOM's types; it runs in the page.
      const copied = await page.evaluate('navigator.clipboard.readText()');
      expect(copied).toBe(await ip(B));
    },
    T,
  );

  it(
    'toggles Shields Up: the peer can no longer ping this device',
    async () => {
      const aIp = await ip(A);
      const pingFromB = () =>
        B.ns.exec('ping', ['-c', '1', '-W', '1', aIp]).then(
          () => true,
          () => false,
        );
      expect(await pingFromB()).toBe(true);
      await page.getByTestId('tab-exit-node').click();
      await page.getByTestId('shields-up').click();
      await waitFor('shields up in burrowd', async () => (await A.status()).shieldsUp, 5_000);
      await shot('exit-node-and-shields');
      expect(await pingFromB()).toBe(false);
      await page.getByTestId('shields-up').click();
      await waitFor('shields down', async () => !(await A.status()).shieldsUp, 5_000);
      expect(await pingFromB()).toBe(true);
    },
    T,
  );

  it(
    'chooses an exit node: the internet then sees C',
    async () => {
      expect((await C.burrow('set', '--advertise-exit-node=true')).code).toBe(0);
      await waitFor(
        'C advertising',
        async () => (await lab.admin('devices', 'list', '--json')).includes('"advertisesExitNode": true'),
        5_000,
      );
      await lab.admin('routes', 'approve', 'c', '--exit-node');
      lab.internet.spawn('node', [
        '-e',
        `require('node:http').createServer((q, r) => r.end(q.socket.remoteAddress)).listen(80, '${INTERNET_IP}')`,
      ]);
      await page.getByTestId('tab-exit-node').click();
      await page.getByTestId('exit-node-c').click();
      await waitFor('A using C', async () => (await A.status()).exitNode !== null, 5_000);
      const seen = () =>
        A.ns.exec('curl', ['-s', '--max-time', '2', `http://${INTERNET_IP}/`]).then(
          (r) => r.stdout,
          () => null,
        );
      await waitFor('the internet to see C', async () => (await seen()) === C.lanIp, 10_000);
      await page.getByTestId('exit-node-none').click();
      await waitFor('the direct path again', async () => (await seen()) === A.lanIp, 10_000);
    },
    T,
  );

  it(
    'accepts a share invite, and the shared device appears',
    async () => {
      const created = await D.burrow('share', 'create', 'd', '--to', 'alice');
      expect(created.code, created.stderr).toBe(0);
      await page.getByTestId('tab-sharing').click();
      const invite = page.locator('[data-testid^="invite-"]').first();
      await invite.waitFor({ timeout: 10_000 });
      await shot('sharing');
      const id = (await invite.getAttribute('data-testid'))!.slice('invite-'.length);
      await page.getByTestId(`accept-${id}`).click();
      await page.getByTestId('tab-devices').click();
      await page.getByTestId('peer-d').waitFor({ timeout: 10_000 });
      expect(await page.getByTestId('peer-d').getByTestId('shared-badge').isVisible()).toBe(true);
    },
    T,
  );
});
