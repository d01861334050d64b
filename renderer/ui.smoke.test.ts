/// <reference types="node" />
/**
 * The built UI in headless Chromium against the fake broker: the web-mode path end to end (token
 * from the fragment, calls, SSE, the clipboard) and the CSP, with the test ids the UI tests use.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from './test-support/build-ui.js';
import { type BrokerHandler, type FakeBroker, startFakeBroker } from './test-support/fake-broker.js';
import { PREFS, SHARES, STATUS } from './test-support/fixtures.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('the built UI in Chromium (web mode)', () => {
  let dir: string;
  let broker: FakeBroker;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let prefs = { ...PREFS };
  let answerUp: BrokerHandler = () => ({ backendState: 'needs-login', authUrl: null });

  beforeAll(async () => {
    ({ dir } = await buildUi());
    broker = await startFakeBroker({
      staticDir: dir,
      handlers: {
        helperState: () => ({ state: 'running', socket: '/run/burrow/burrowd.sock', detail: '' }),
        status: () => STATUS,
        getPrefs: () => prefs,
        setPrefs: (patch) => {
          prefs = { ...prefs, ...(patch as object) };
          return prefs;
        },
        listShares: () => SHARES,
        up: (request) => answerUp(request),
        acceptShare: () => ({ id: 'sh-new', device: 'printer', owner: 'carol', recipient: 'alice' }),
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: broker.origin });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(`${broker.origin}/#token=${broker.token}`);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads with the token, then drops it from the address bar', async () => {
    await expect.poll(() => page.getByTestId('backend-state').textContent()).toBe('Connected');
    expect(page.url()).toBe(`${broker.origin}/`);
  });

  it('lists the peers, filters them, and copies an address', async () => {
    await page.getByTestId('peer-desk').waitFor();
    expect(await page.getByTestId('peer-gateway').getByTestId('peer-path').textContent()).toBe(
      'Relayed via fra, 31 ms',
    );
    expect(await page.getByTestId('peer-nas').getByTestId('shared-badge').isVisible()).toBe(true);
    await page.getByTestId('peer-search').fill('bob');
    await expect.poll(() => page.locator('.peers > li').count()).toBe(1);
    expect(await page.getByTestId('peer-nas').isVisible()).toBe(true);
    await page.getByTestId('peer-search').fill('');
    await page.getByTestId('copy-self').click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('100.64.0.1');
  });

  it('shows a suffixed short name as burrowd gives it, finds it by its full name, and copies that', async () => {
    const carols = page.getByTestId('peer-desk-carol');
    expect(await carols.getByTestId('peer-name').textContent()).toBe('desk-carol');
    expect(await carols.getByTestId('peer-name').getAttribute('title')).toBe('desk.carol.burrow.internal');
    expect(await carols.getByTestId('peer-owner').textContent()).toBe('carol · network carol');
    await page.getByTestId('peer-search').fill('desk.carol.burrow');
    await expect.poll(() => page.locator('.peers > li').count()).toBe(1);
    const copy = carols.getByTestId('copy-name-desk-carol');
    expect(await copy.textContent()).toBe('Copy name');
    await copy.click();
    await expect
      .poll(() => page.evaluate(() => navigator.clipboard.readText()))
      .toBe('desk.carol.burrow.internal');
    // The same feedback as for an address: the button says so, and so does the status line.
    expect(await copy.textContent()).toBe('Copied');
    expect(await carols.getByRole('status').first().textContent()).toBe(
      "Copied desk-carol's name desk.carol.burrow.internal",
    );
    await page.getByTestId('peer-search').fill('');
  });

  it('accepts an invite on the Sharing tab', async () => {
    await page.getByTestId('tab-sharing').click();
    await page.getByTestId('accept-inv-in').click();
    await expect
      .poll(() => broker.calls.filter((c) => c.name === 'acceptShare'))
      .toEqual([{ name: 'acceptShare', request: { ref: 'inv-in' } }]);
  });

  it('turns Shields Up on and picks an exit node; an offline one cannot be picked', async () => {
    await page.getByTestId('tab-exit-node').click();
    // The controls show burrowd's state, not the click: they change once its answer is in, so the
    // test clicks and then waits (Playwright's check() wants the change at once, and races).
    await page.getByTestId('shields-up').click();
    await expect.poll(() => page.getByTestId('shields-up').isChecked()).toBe(true);
    await page.getByTestId('exit-node-gateway').click();
    await expect.poll(() => page.getByTestId('exit-node-gateway').isChecked()).toBe(true);
    expect(await page.getByTestId('exit-node-oldbox').isDisabled()).toBe(true);
    await expect.poll(() => prefs).toMatchObject({ shieldsUp: true, exitNode: 'n-gw' });
  });

  it('follows events: a state event brings up sign-in with the login page button', async () => {
    broker.send(
      JSON.stringify({
        type: 'state',
        backendState: 'needs-login',
        authUrl: 'https://burrow.example.com/a/1',
      }),
    );
    await page.getByTestId('open-login').waitFor();
    expect(await page.getByTestId('backend-state').textContent()).toBe('Needs sign-in');
  });

  it('needing a login without the page (not root or the operator), says who can sign in', async () => {
    broker.send(JSON.stringify({ type: 'state', backendState: 'needs-login', authUrl: null }));
    await page.getByTestId('login-who').waitFor();
    expect(await page.getByTestId('login-who').textContent()).toMatch(/root.*operator/);
    expect(await page.getByTestId('open-login').count()).toBe(0);
  });

  it('keeps the typed server URL when burrowd asks for a login before up has answered', async () => {
    broker.send(JSON.stringify({ type: 'state', backendState: 'stopped', authUrl: null }));
    await page.getByTestId('login-panel').waitFor();
    const typed = 'https://typed.example.com';
    await page.getByTestId('control-url').fill(typed);
    let release = () => {};
    const released = new Promise<void>((r) => (release = r));
    const authUrl = 'https://typed.example.com/a/2';
    // As burrowd does: it starts (the form hides), needs a login (an event), and only then answers.
    answerUp = async () => {
      broker.send(JSON.stringify({ type: 'state', backendState: 'starting', authUrl: null }));
      await new Promise((r) => setTimeout(r, 200));
      broker.send(JSON.stringify({ type: 'state', backendState: 'needs-login', authUrl }));
      await released;
      return { backendState: 'needs-login', authUrl };
    };
    await page.getByTestId('login-submit').click();
    await page.getByTestId('open-login').waitFor();
    expect(await page.getByTestId('control-url').inputValue()).toBe(typed);
    release();
  });

  it('ran without script errors or CSP violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
