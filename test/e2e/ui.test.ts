/**
 * The real UI, in headless Chromium (playwright-core, Debian's chromium), through web mode
 * (`main/web.ts`), against real burrow-server and burrowd processes in namespaces. The UI belongs
 * to alice's laptop A; bob has B (desktop) and C (vps, which becomes an exit node); yves has D (a
 * printer), which he shares; the tablet and the phone are new devices, not signed in. With BURROW_SCREENSHOTS=DIR it saves each main screen there
 * (`npm run screenshots` makes docs/screenshots so).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNET_IP, type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';
import { REPO } from '../support/wg-peers.js';

const CHROMIUM = '/usr/bin/chromium';
const T = 120_000;
const SCREENSHOTS = process.env.BURROW_SCREENSHOTS; // a directory: the test saves each screen there
const TSX = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const NOBODY = 65534;

describe.skipIf(!isRoot() || !existsSync(CHROMIUM))('the UI, end to end', () => {
  let lab: MeshLab;
  let A: LabDevice;
  let B: LabDevice;
  let C: LabDevice;
  let D: LabDevice;
  const webs: ChildProcess[] = [];
  let browser: Browser;
  let page: Page;
  const ip = async (d: LabDevice) => (await d.status()).self!.ips[0]!;
  const shot = async (name: string, of = page) => {
    if (!SCREENSHOTS) return;
    mkdirSync(SCREENSHOTS, { recursive: true });
    await of.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
  };

  /** Web mode for the burrowd at `socket`, run as root or as `uid`, in a page of its own. */
  async function openUi(socket: string, uid?: number): Promise<{ page: Page; context: BrowserContext }> {
    const command = [process.execPath, '--import', TSX, join(REPO, 'main/web.ts'), '--socket', socket];
    const web =
      uid === undefined
        ? spawn(command[0]!, command.slice(1), { cwd: REPO })
        : spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...command], {
            cwd: REPO,
          });
    webs.push(web);
    let out = '';
    web.stdout?.on('data', (d) => (out += d));
    const url = await waitFor(
      'the web UI URL',
      async () => /(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(out)?.[1],
      30_000,
    );
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
    const page = await context.newPage();
    await page.goto(url);
    return { page, context };
  }

  beforeAll(async () => {
    await promisify(execFile)(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'scripts/build-ui.ts')], {
      cwd: REPO,
    });
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'team');
    await lab.admin('users', 'create', 'bob', '--network', 'team');
    await lab.admin('users', 'create', 'yves');
    await lab.startServer();
    [A, B, C, D] = (await Promise.all(['laptop', 'desktop', 'vps', 'printer'].map((n) => lab.device(n)))) as [
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
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    ({ page } = await openUi(A.socket));
    await waitFor(
      'the UI connected',
      async () => (await page.getByTestId('backend-state').textContent()) === 'Connected',
      20_000,
    );
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    for (const web of webs) web.kill();
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'shows how a peer is reached once there is traffic, and copies its address to the clipboard',
    async () => {
      await page.getByTestId('tab-devices').click();
      await page.getByTestId('peer-desktop').waitFor();
      // Traffic to B: the list then shows how B is reached, without a reload.
      await A.ns.exec('ping', ['-c', '2', '-i', '0.3', '-W', '2', await ip(B)]);
      const path = page.getByTestId('peer-desktop').getByTestId('peer-path');
      await waitFor(
        'the path to B on screen',
        async () => /^Direct 10\.99\.0\.\d+:\d+/.test((await path.textContent()) ?? ''),
        10_000,
      );
      await page.getByTestId('copy-desktop').click();
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
      await shot('shields-up');
      expect(await pingFromB()).toBe(false);
      await page.getByTestId('shields-up').click();
      await waitFor('shields down', async () => !(await A.status()).shieldsUp, 5_000);
      expect(await pingFromB()).toBe(true);
    },
    T,
  );

  it(
    "a peer's Trace with burrowd's real trace: Shields Up on B stops the ping at the peer's verdict, then it is delivered",
    async () => {
      expect((await B.burrow('set', '--shields-up=true')).code).toBe(0);
      try {
        await page.getByTestId('tab-devices').click();
        await page.getByTestId('trace-desktop').click();
        const stages = page.getByTestId('journey-stages');
        await stages.waitFor({ timeout: 20_000 });
        const statuses = () =>
          page
            .locator('.journey > li')
            .evaluateAll((items) => items.map((li) => li.getAttribute('data-status')));
        expect(await statuses()).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'blocked', 'skipped']);
        const verdict = page.getByTestId('stage-peer-verdict');
        expect(await verdict.getAttribute('aria-current')).toBe('step');
        expect(await verdict.getByTestId('stage-summary').textContent()).toBe(
          'bob has Shields Up on desktop',
        );
        expect(await verdict.getByTestId('stage-fix').textContent()).toContain(
          'burrow set --shields-up=false',
        );
      } finally {
        expect((await B.burrow('set', '--shields-up=false')).code).toBe(0);
      }
      await page.getByTestId('trace-run').click();
      // The view shows no verdict while the trace runs, then this one.
      await page.locator('[data-testid="trace-verdict"][data-delivered="true"]').waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('stage-delivery').getByTestId('stage-summary').textContent()).toBe(
        'desktop answered the ping',
      );
      await page.getByTestId('journey-back').click();
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
      await lab.admin('routes', 'approve', 'vps', '--exit-node');
      lab.internet.spawn('node', [
        '-e',
        `require('node:http').createServer((q, r) => r.end(q.socket.remoteAddress)).listen(80, '${INTERNET_IP}')`,
      ]);
      await page.getByTestId('tab-exit-node').click();
      await page.getByTestId('exit-node-vps').click();
      await waitFor('A using C', async () => (await A.status()).exitNode !== null, 5_000);
      const seen = () =>
        A.ns.exec('curl', ['-s', '--max-time', '2', `http://${INTERNET_IP}/`]).then(
          (r) => r.stdout,
          () => null,
        );
      await waitFor('the internet to see C', async () => (await seen()) === C.lanIp, 10_000);
      await shot('exit-node');
      await page.getByTestId('exit-node-none').click();
      await waitFor('the direct path again', async () => (await seen()) === A.lanIp, 10_000);
    },
    T,
  );

  it(
    'accepts a share invite, and the shared device appears',
    async () => {
      const created = await D.burrow('share', 'create', 'printer', '--to', 'alice');
      expect(created.code, created.stderr).toBe(0);
      await page.getByTestId('tab-sharing').click();
      const invite = page.locator('[data-testid^="invite-"]').first();
      await invite.waitFor({ timeout: 10_000 });
      await shot('sharing');
      const id = (await invite.getAttribute('data-testid'))!.slice('invite-'.length);
      await page.getByTestId(`accept-${id}`).click();
      await page.getByTestId('tab-devices').click();
      await page.getByTestId('peer-printer').waitFor({ timeout: 10_000 });
      expect(await page.getByTestId('peer-printer').getByTestId('shared-badge').isVisible()).toBe(true);
    },
    T,
  );

  it(
    'a shared device whose name is taken here shows its suffixed name; Copy name copies its full name, which resolves',
    async () => {
      // yves calls his printer "desktop", as bob's is called: alice's devices then know it as
      // desktop-NETWORK, and bob's keeps its bare name.
      await lab.admin('devices', 'rename', 'printer', 'desktop');
      const shared = await waitFor(
        "the new name in A's status",
        async () => (await A.status()).peers.find((p) => p.shared && p.hostName === 'desktop'),
        10_000,
      );
      expect(shared.shortName).toBe(`desktop-${shared.dnsName.split('.')[1]}`);
      await page.getByTestId('tab-devices').click();
      const row = page.getByTestId(`peer-${shared.shortName}`);
      await row.waitFor({ timeout: 10_000 });
      expect(await row.getByTestId('peer-name').textContent()).toBe(shared.shortName);
      expect(await row.getByTestId('full-name').textContent()).toBe(shared.dnsName);
      expect(await row.getByTestId('peer-owner').textContent()).toBe(
        `yves · network ${shared.dnsName.split('.')[1]}`,
      );
      const bobs = page.getByTestId('peer-desktop');
      expect(await bobs.getByTestId('full-name').textContent()).toBe((await B.status()).self!.dnsName);
      await shot('devices');
      await row.getByTestId(`copy-name-${shared.shortName}`).click();
      // A string: this file is compiled without the DOM's types; it runs in the page.
      const copied = await page.evaluate('navigator.clipboard.readText()');
      expect(copied).toBe(shared.dnsName);
      // What was copied is a name A's resolver answers with D's address.
      const answer = await A.burrow('dns', 'query', String(copied), '--json');
      expect(answer.code, answer.stderr).toBe(0);
      const answers = (JSON.parse(answer.stdout) as { answers: { data: string }[] }).answers;
      expect(answers.map((a) => a.data)).toContain(await ip(D));
    },
    T,
  );

  it(
    "a new device: signing in from the window gives a link to the server's sign-in page",
    async () => {
      const E = await lab.device('tablet');
      const { page: ui, context } = await openUi(E.socket);
      await ui.getByTestId('login-panel').waitFor({ timeout: 10_000 });
      await ui.getByTestId('control-url').fill(lab.serverUrl);
      await ui.getByTestId('login-submit').click();
      const open = ui.getByTestId('open-login');
      await open.waitFor({ timeout: 10_000 });
      expect(await ui.getByTestId('backend-state').textContent()).toBe('Needs sign-in');
      expect(await ui.getByTestId('control-url').inputValue()).toBe(lab.serverUrl);
      await shot('sign-in', ui);
      const [request] = await Promise.all([
        context.waitForEvent('request', (r) => r.url().startsWith(`${lab.serverUrl}/`)),
        open.click(),
      ]);
      // This browser cannot reach the lab's network; from inside it, the page asks for a password.
      const { stdout } = await lab.serverNs.exec('curl', ['-s', request.url()]);
      expect(stdout).toMatch(/type="password"/);
    },
    T,
  );

  it(
    'another local user is told that only root or the operator can sign the device in',
    async () => {
      const E = await lab.device('phone');
      await E.burrow('up', '--login-server', lab.serverUrl, '--timeout', '1s');
      expect((await E.status()).backendState).toBe('needs-login');
      chmodSync(lab.dir, 0o711); // nobody may reach the sockets in it, and nothing else there
      const { page: theirs } = await openUi(E.socket, NOBODY);
      await theirs.getByTestId('login-who').waitFor({ timeout: 10_000 });
      expect(await theirs.getByTestId('open-login').count()).toBe(0);
      await shot('sign-in-other-user', theirs);
    },
    T,
  );

  it(
    'without burrowd, the window says why and how to install it',
    async () => {
      const { page: ui } = await openUi(join(lab.dir, 'nothing-here/burrowd.sock'));
      const panel = ui.getByTestId('helper-panel');
      await panel.waitFor({ timeout: 10_000 });
      expect(await ui.getByTestId('backend-state').textContent()).toBe('Helper unavailable');
      expect(await panel.textContent()).toMatch(
        /burrowd, the Burrow helper, is (not installed|installed but not)/,
      );
      await shot('helper-install', ui);
      await ui.getByTestId('install-helper').click();
      await waitFor(
        'the install answer',
        async () =>
          /from a terminal: npm run build:helper/.test(
            (await ui.getByTestId('install-state').textContent()) ?? '',
          ),
        10_000,
      );
    },
    T,
  );
});
