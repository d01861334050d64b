/**
 * The pictures in docs/screenshots: every main screen of the window and the tray menu in each
 * state is there and shown in the README, and nothing else is; the tray pictures show exactly what
 * the tray's model (main/tray-menu.ts) says, checked in Chromium; and `npm run screenshots` makes
 * them (the window's screens come from test/e2e/ui.test.ts, which needs root, and
 * test/e2e/journey-ui.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trayIconFile } from '../../main/tray-icons.js';
import { type TrayItem, trayIcon, trayMenu } from '../../main/tray-menu.js';
import { CHROMIUM, TRAY_PICTURES, trayPicturePage } from '../../scripts/tray-pictures.js';
import { REPO } from '../support/wg-peers.js';

const DIR = join(REPO, 'docs/screenshots');
/**
 * The issues' lists: devices, sharing, exit node, Shields Up, sign-in, helper install; the journey
 * view (issue 18), from test/e2e/journey-ui.test.ts.
 */
const UI_SCREENS = [
  'devices',
  'sharing',
  'exit-node',
  'shields-up',
  'sign-in',
  'sign-in-other-user',
  'helper-install',
  'trace-blocked',
  'trace-delivered',
];
const readme = () => readFileSync(join(REPO, 'README.md'), 'utf8');

/** A PNG's width and height, from its IHDR chunk; throws if the file is no PNG. */
function pngSize(file: string): { width: number; height: number } {
  const bytes = readFileSync(file);
  if (!bytes.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])))
    throw new Error(`${file} is not a PNG`);
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe('docs/screenshots', () => {
  it('holds every main screen and every tray state, each shown in the README', () => {
    const text = readme();
    for (const name of [...UI_SCREENS, ...TRAY_PICTURES.map((p) => p.name)]) {
      const { width, height } = pngSize(join(DIR, `${name}.png`));
      expect(width, name).toBeGreaterThanOrEqual(200);
      expect(height, name).toBeGreaterThanOrEqual(100);
      expect(text, name).toContain(`(docs/screenshots/${name}.png)`);
    }
  });

  it('the README shows no missing picture, and every picture there is shown', () => {
    const shown = [...readme().matchAll(/!\[[^\]]*\]\((docs\/screenshots\/[^)]+)\)/g)].map((m) => m[1]!);
    for (const path of shown) expect(() => pngSize(join(REPO, path)), path).not.toThrow();
    const files = readdirSync(DIR).map((f) => `docs/screenshots/${f}`);
    expect(files.filter((f) => !shown.includes(f))).toEqual([]);
  });
});

describe('the tray pictures', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** What a menu says, item by item, as the model has it and as the page shows it. */
  const modelLines = (items: TrayItem[]) =>
    items.map((i) =>
      i.type === 'separator'
        ? '-'
        : `${i.checked && (i.type === 'radio' || i.type === 'checkbox') ? '[x] ' : ''}${i.label}${i.enabled ? '' : ' (disabled)'}${i.submenu ? ' >' : ''}`,
    );
  /** The part of a DOM element read here (this file is compiled without the DOM's types). */
  interface El {
    children: ArrayLike<El>;
    textContent: string | null;
    getAttribute(name: string): string | null;
    querySelector(selector: string): El | null;
  }
  /** The same lines, read from the page. */
  const pageLines = (menu: El) =>
    Array.from(menu.children).map((li) =>
      li.getAttribute('role') === 'separator'
        ? '-'
        : `${li.getAttribute('aria-checked') === 'true' ? '[x] ' : ''}${li.querySelector('.label')?.textContent}${
            li.getAttribute('aria-disabled') === 'true' ? ' (disabled)' : ''
          }${li.querySelector('.arrow')?.textContent ? ' >' : ''}`,
    );

  it.each(TRAY_PICTURES.map((p) => [p.name, p] as const))(
    '%s shows the menu and icon of its state',
    async (_, picture) => {
      const page = await browser.newPage();
      try {
        await page.setContent(trayPicturePage(picture));
        const menus = page.locator('ul[role="menu"]');
        // The top menu, then each open submenu, each as the model has it.
        let items = trayMenu(picture.state);
        const shown = [items];
        for (const label of picture.open ?? []) {
          items = items.find((i) => i.label === label)!.submenu!;
          shown.push(items);
        }
        expect(await menus.count()).toBe(shown.length);
        for (const [i, menu] of shown.entries())
          expect(await menus.nth(i).evaluate(pageLines as never)).toEqual(modelLines(menu));
        const icon = readFileSync(join(REPO, 'assets', trayIconFile(trayIcon(picture.state), 'linux')));
        expect(await page.locator('.tray img').getAttribute('src')).toBe(
          `data:image/png;base64,${icon.toString('base64')}`,
        );
      } finally {
        await page.close();
      }
    },
  );

  it('npm run screenshots -- --tray-only draws each of them, and refuses a flag it does not know', async () => {
    const out = mkdtempSync(join(tmpdir(), 'burrow-shots-'));
    try {
      const run = (...args: string[]) =>
        promisify(execFile)('npm', ['run', '--silent', 'screenshots', '--', ...args], { cwd: REPO });
      await run('--tray-only', '--out', out);
      expect(readdirSync(out).sort()).toEqual(TRAY_PICTURES.map((p) => `${p.name}.png`).sort());
      for (const file of readdirSync(out)) expect(pngSize(join(out, file)).width).toBeGreaterThanOrEqual(200);
      await expect(run('--tray-only', '--bogus')).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringContaining('unknown or incomplete flag "--bogus"'),
      });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
