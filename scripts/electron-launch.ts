/**
 * Starting the desktop app from this checkout (`npm start`, `npm run demo`): Electron's binary
 * from node_modules/electron (npm downloads it unless ELECTRON_SKIP_BINARY_DOWNLOAD is set), or
 * from ELECTRON_OVERRIDE_DIST_PATH (Electron's own variable: a directory holding `electron`),
 * run on the checkout, whose package.json points at the bundles scripts/build-app.ts makes.
 */
import { type ChildProcess, execFileSync, type StdioOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));

export const NO_ELECTRON =
  "Electron's binary is not installed (npm ci skips it with ELECTRON_SKIP_BINARY_DOWNLOAD=1, or could not " +
  'download it). Get it with `node node_modules/electron/install.js`, or point ELECTRON_OVERRIDE_DIST_PATH ' +
  'at a directory holding an unpacked Electron 41.';

/** The path of Electron's binary, or null if it is not installed. */
export function electronBinary(): string | null {
  let path: string;
  try {
    // node_modules/electron's index.js: the binary's path (it throws when none was downloaded).
    path = createRequire(import.meta.url)('electron') as string;
  } catch {
    return null;
  }
  return existsSync(path) ? path : null;
}

/** Builds the main process, the preload and the UI into dist/. */
export function buildApp(): void {
  execFileSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/build-app.ts')], {
    cwd: REPO,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** The desktop user to run the app as, instead of root: the one who ran sudo. */
export interface DesktopUser {
  uid: number;
  gid: number;
  name: string;
  home: string;
}

/** Who ran `sudo` (SUDO_UID, SUDO_GID), if anyone but root did. */
export function sudoUser(env: NodeJS.ProcessEnv = process.env): DesktopUser | null {
  const uid = Number(env.SUDO_UID);
  const gid = Number(env.SUDO_GID);
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid) || gid < 0) return null;
  const entry = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8' })
    .trim()
    .split(':');
  return { uid, gid, name: entry[0] ?? String(uid), home: entry[5] ?? '/' };
}

/** The user's session, as far as it can be known under sudo (which keeps DISPLAY and XAUTHORITY). */
function userEnv(user: DesktopUser): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
  };
  for (const name of ['DISPLAY', 'XAUTHORITY', 'WAYLAND_DISPLAY', 'LANG', 'LC_ALL', 'TERM'])
    if (process.env[name]) env[name] = process.env[name];
  const runtime = `/run/user/${user.uid}`;
  if (existsSync(runtime)) env.XDG_RUNTIME_DIR = runtime;
  if (existsSync(`${runtime}/bus`)) env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${runtime}/bus`;
  return env;
}

export interface LaunchOptions {
  /** The app's own flags (main/app-flags.ts), e.g. --socket PATH. */
  flags: string[];
  /** Run as this user (through setpriv); otherwise as whoever runs this. */
  user?: DesktopUser | null;
  stdio?: StdioOptions;
}

/** Starts Electron on the checkout. Chromium refuses to run as root with its sandbox on. */
export function launchElectron(
  binary: string,
  { flags, user, stdio = 'inherit' }: LaunchOptions,
): ChildProcess {
  const asRoot = user ? false : process.getuid?.() === 0;
  const args = [...(asRoot ? ['--no-sandbox'] : []), REPO, ...flags];
  if (!user) return spawn(binary, args, { cwd: REPO, stdio });
  const setpriv = [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', binary, ...args];
  return spawn('setpriv', setpriv, { cwd: REPO, stdio, env: userEnv(user) });
}
