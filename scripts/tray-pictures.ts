/**
 * The tray menu in each of its states, drawn for docs/screenshots: main/tray-menu.ts makes the menu
 * and picks the icon for each state, scripts/tray-menu-html.ts lays them out as a page, and
 * Chromium (playwright-core, Debian's chromium) takes the picture. The states hold the sample
 * devices the app's tests use (test/support/memory-localapi.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { trayIconFile } from '../main/tray-icons.js';
import { INITIAL_TRAY_STATE, type TrayState, trayIcon, trayMenu } from '../main/tray-menu.js';
import { PREFS, SHARES, STATUS } from '../test/support/memory-localapi.js';
import { trayMenuHtml } from './tray-menu-html.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';

export interface TrayPicture {
  /** The file name, without .png. */
  name: string;
  state: TrayState;
  /** The submenus shown open, from the top (each in the one before). */
  open?: readonly string[];
}

const NO_SHARES = { incoming: [], outgoing: [], accepted: [] };
const running: TrayState = {
  helper: 'running',
  backendState: 'running',
  status: STATUS,
  prefs: PREFS,
  shares: NO_SHARES,
};

export const TRAY_PICTURES: TrayPicture[] = [
  {
    name: 'tray-helper-missing',
    state: { ...INITIAL_TRAY_STATE, helper: 'not-installed' },
  },
  {
    name: 'tray-logged-out',
    state: { ...INITIAL_TRAY_STATE, helper: 'running', backendState: 'needs-login', prefs: PREFS },
  },
  {
    name: 'tray-disconnected',
    state: { ...running, backendState: 'stopped', status: { ...STATUS, backendState: 'stopped' } },
  },
  // A peer's menu open: Copy name (its full name) and Copy IP.
  { name: 'tray-connected', state: running, open: ['Devices', '● bobs-pi  100.64.0.5  (shared)'] },
  {
    name: 'tray-exit-node',
    state: { ...running, status: { ...STATUS, exitNode: 'p4' }, prefs: { ...PREFS, exitNode: 'p4' } },
    open: ['Exit node'],
  },
  {
    name: 'tray-invite',
    state: { ...running, shares: SHARES },
    open: [`${SHARES.incoming[0]!.owner} shares ${SHARES.incoming[0]!.device}`],
  },
];

/** The page of one picture (its #shot element is the picture). */
export function trayPicturePage({ state, open }: TrayPicture): string {
  const icon = readFileSync(join(ROOT, 'assets', trayIconFile(trayIcon(state), 'linux')));
  return trayMenuHtml({ items: trayMenu(state), icon, open });
}

/** Draws every picture into `outDir`, as NAME.png. */
export async function drawTrayPictures(outDir: string): Promise<void> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    for (const picture of TRAY_PICTURES) {
      await page.setContent(trayPicturePage(picture));
      await page.locator('#shot').screenshot({ path: join(outDir, `${picture.name}.png`) });
    }
  } finally {
    await browser.close();
  }
}
