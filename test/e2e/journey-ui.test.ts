/**
 * The journey view (`burrow trace` in the window, issue 18) in headless Chromium, through web mode
 * (the app's real broker and web server) against burrowd's real LocalAPI server with the sample
 * backend (test/support/memory-localapi.ts), whose traces are real reports from burrowd's report
 * builder: desktop:80 is delivered, bobs-pi (shared by bob) is behind Shields Up, nas has been
 * offline for 3 h. The pictures are the same each run, so with BURROW_SCREENSHOTS=DIR it saves
 * them there for docs/screenshots (`npm run screenshots`).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker } from '../../main/broker.js';
import { startWebServer, type WebServer, webPlatform } from '../../main/web-server.js';
import { buildUi } from '../../renderer/test-support/build-ui.js';
import { STAGES } from '../../src/trace/report.js';
import { startTestLocalApi, type TestLocalApi } from '../support/memory-localapi.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = process.env.BURROW_SCREENSHOTS;

describe.skipIf(!existsSync(CHROMIUM))('the journey view in Chromium', () => {
  let dir: string;
  let api: TestLocalApi;
  let broker: ReturnType<typeof createBroker>;
  let web: WebServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const shot = async (name: string) => {
    if (!SCREENSHOTS) return;
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };
  const stop = (name: string) => page.getByTestId(`stage-${name}`);
  /** Each stop's status, in the order shown. */
  const statuses = async () =>
    page.locator('.journey > li').evaluateAll((items) => items.map((li) => li.getAttribute('data-status')));
  const text = async (l: Locator) => (await l.textContent())?.trim();
  const traces = () => api.calls.filter((c) => c === 'trace').length;

  beforeAll(async () => {
    ({ dir } = await buildUi());
    api = await startTestLocalApi();
    broker = createBroker({
      socketPath: api.socketPath,
      socketOwner: process.getuid!(),
      platform: webPlatform,
      installedPaths: [],
    });
    web = await startWebServer({ broker, staticRoot: dir });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(web.url);
    await page.getByTestId('backend-state').filter({ hasText: 'Connected' }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    broker?.close();
    await api?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a peer's Trace: the blocking stop holds the cause and the fix, the stops before it passed, after it skipped", async () => {
    await page.getByTestId('trace-bobs-pi').click();
    await page.getByTestId('journey-stages').waitFor();
    expect(await statuses()).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'blocked', 'skipped']);
    const blocked = stop('peer-verdict');
    expect(await blocked.getAttribute('aria-current')).toBe('step');
    expect(await text(blocked.getByTestId('stage-verdict'))).toBe('Blocked here');
    expect(await text(blocked.getByTestId('stage-summary'))).toBe('bob has Shields Up on bobs-pi');
    expect(await text(blocked.getByTestId('stage-fix'))).toBe(
      'Fix: bob can turn it off on bobs-pi: burrow set --shields-up=false',
    );
    expect(await text(stop('delivery').getByTestId('stage-verdict'))).toBe('Skipped');
    expect(await text(page.getByTestId('trace-verdict'))).toMatch(
      /^Blocked at Peer's verdict: bob has Shields Up on bobs-piFix: bob can turn it off/,
    );
    // Opened on a device, the view starts at its heading (what is traced: a ping, as the CLI's).
    // Strings: this file is compiled without the DOM's types; they run in the page.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Why can’t I ping bobs-pi?');
    // The blocking stop is the one marked as the current step for assistive technology.
    expect(await page.getByRole('listitem').and(page.locator('[aria-current="step"]')).count()).toBe(1);
    await shot('trace-blocked');
  });

  it('re-runs with TCP and a port typed, from the keyboard, and Escape goes back', async () => {
    const before = traces();
    await page.getByTestId('trace-proto-tcp').check();
    await page.getByTestId('trace-port').fill('22');
    expect(await text(page.getByTestId('trace-run'))).toBe('Trace');
    await page.getByTestId('trace-port').press('Enter');
    await expect
      .poll(() => page.getByTestId('journey').getByRole('heading', { level: 2 }).textContent())
      .toBe('Why can’t I reach bobs-pi:22?');
    await page.getByTestId('journey-stages').waitFor();
    expect(traces()).toBe(before + 1);
    expect(await text(page.getByTestId('trace-run'))).toBe('Run again');
    await page.getByTestId('trace-run').click();
    await expect.poll(traces).toBe(before + 2);
    await page.getByTestId('journey-stages').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('peer-search').waitFor();
    expect(await page.getByTestId('journey').count()).toBe(0);
    // The port is remembered for the device: its Trace button offers TCP 22 again.
    await page.getByTestId('trace-bobs-pi').click();
    expect(await page.getByTestId('trace-port').inputValue()).toBe('22');
    expect(await page.getByTestId('trace-proto-tcp').isChecked()).toBe(true);
    await page.getByTestId('journey-back').click();
  });

  it('"Why can’t I reach…" on the Devices screen: name:port, traced and delivered', async () => {
    await page.getByTestId('why-target').fill('web cam');
    await page.getByTestId('why-submit').click();
    expect(await text(page.getByTestId('why-problem'))).toBe('"web cam" is not a device or host name');
    expect(await page.getByTestId('journey').count()).toBe(0);
    await page.getByTestId('why-target').fill('desktop:80');
    await page.getByTestId('why-target').press('Enter');
    await page.getByTestId('journey-stages').waitFor();
    expect(await statuses()).toEqual(STAGES.map(() => 'ok'));
    expect(await page.getByTestId('trace-verdict').getAttribute('data-delivered')).toBe('true');
    expect(await text(stop('delivery').getByTestId('stage-summary'))).toBe(
      'SYN answered by SYN-ACK: desktop:80 listens',
    );
    expect(await text(stop('path').getByTestId('stage-summary'))).toBe(
      'direct to 192.0.2.10:41641 (found by STUN)',
    );
    await shot('trace-delivered');
    await page.getByTestId('tab-devices').click();
  });

  it('an offline device stops at WireGuard, saying for how long', async () => {
    await page.getByTestId('trace-nas').click();
    await page.getByTestId('journey-stages').waitFor();
    expect(await statuses()).toEqual(['ok', 'ok', 'ok', 'blocked', 'skipped', 'skipped', 'skipped']);
    expect(await text(stop('wireguard').getByTestId('stage-summary'))).toBe('nas has been offline for 3 h');
    await page.getByTestId('journey-back').click();
  });

  it("the tray's entry: the page opens the view its address asks for, empty with the field focused", async () => {
    // What main does for the tray's "Why can't I reach…" on an open window (main/app-window.ts).
    await page.evaluate("window.location.hash = 'trace'");
    await page.getByTestId('journey').waitFor();
    expect(await page.evaluate("document.activeElement?.getAttribute('data-testid')")).toBe('trace-target');
    expect(page.url()).not.toContain('#');
    await page.keyboard.type('nas');
    await page.keyboard.press('Enter');
    await page.getByTestId('journey-stages').waitFor();
    expect(await page.getByTestId('trace-verdict').getAttribute('data-delivered')).toBe('false');
    // The same entry again is heard again: the fragment was taken out of the address.
    await page.getByTestId('journey-back').click();
    await page.evaluate("window.location.hash = 'trace=desktop'");
    await page.getByTestId('journey-stages').waitFor();
    // Traced with what was last traced to it (desktop:80, from the Devices screen's field).
    expect(await text(page.getByTestId('journey').getByRole('heading', { level: 2 }))).toBe(
      'Why can’t I reach desktop:80?',
    );
  });

  it('ran without script errors or CSP violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
