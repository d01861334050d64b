/**
 * The desktop app as electron-builder packs it: the bundles scripts/build-app.ts makes (loaded
 * here against a stand-in `electron` module: the real one cannot run on this machine) and the
 * afterPack check that refuses an installer without the helper.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../support/wg-peers.js';

const require = createRequire(import.meta.url);
const afterPack = require(join(REPO, 'packaging/after-pack.cjs')) as ((context: unknown) => Promise<void>) & {
  resourcesDir(context: unknown): string;
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const HELPER_FILES = [
  'helper/burrowd',
  'helper/burrow',
  'helper/burrow_native.node',
  'helper/burrow_crypto.node',
];
const SCRIPTS = ['scripts/install-helper.sh', 'scripts/uninstall-helper.sh'];

/** A packed app's output directory with the given resource files (executables mode 0755). */
function packed(files: string[], platform = 'linux') {
  const appOutDir = mkdtempSync(join(tmpdir(), 'burrow-pack-'));
  dirs.push(appOutDir);
  const context = {
    appOutDir,
    electronPlatformName: platform,
    packager: { appInfo: { productFilename: 'Burrow' } },
  };
  const resources = afterPack.resourcesDir(context);
  for (const f of files) {
    mkdirSync(join(resources, f, '..'), { recursive: true });
    writeFileSync(join(resources, f), 'x');
    if (!f.endsWith('.node')) chmodSync(join(resources, f), 0o755);
  }
  return { context, resources };
}

describe('afterPack', () => {
  it('passes a packed app that has the helper, its addons and the install scripts', async () => {
    await expect(afterPack(packed([...HELPER_FILES, ...SCRIPTS]).context)).resolves.toBeUndefined();
  });

  it('fails the build when the helper is missing, saying what to run', async () => {
    const { context } = packed(SCRIPTS);
    await expect(afterPack(context)).rejects.toThrow(/helper\/burrowd is missing.*npm run build:helper/);
  });

  it('fails the build when the helper is there but not executable', async () => {
    const { context, resources } = packed([...HELPER_FILES, ...SCRIPTS]);
    chmodSync(join(resources, 'helper/burrowd'), 0o644);
    await expect(afterPack(context)).rejects.toThrow(/helper\/burrowd is not executable/);
  });

  it('looks inside the .app bundle on macOS (where there is no helper yet: the build stops)', async () => {
    const { context, resources } = packed(SCRIPTS, 'darwin');
    expect(resources).toMatch(/Burrow\.app\/Contents\/Resources$/);
    await expect(afterPack(context)).rejects.toThrow(/helper\/burrow_native\.node is missing/);
  });
});

describe('the app bundles', () => {
  beforeAll(() => {
    execFileSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/build-app.ts')], {
      stdio: 'pipe',
    });
  }, 60_000);

  /** Loads a bundle with `electron` replaced by `stand-in`, as Electron would load it. */
  function load(file: string, standIn: Record<string, unknown>): void {
    const original = (Module as unknown as { _load: (...a: unknown[]) => unknown })._load;
    (Module as unknown as { _load: (...a: unknown[]) => unknown })._load = function (request, ...rest) {
      if (request === 'electron') return standIn;
      return original.call(this, request, ...rest);
    };
    try {
      require(file);
    } finally {
      (Module as unknown as { _load: unknown })._load = original;
    }
  }

  it('package.json points Electron at the bundled main process', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    expect(pkg.main).toBe('dist/main/index.cjs');
  });

  it('the main process loads with only electron outside it, and a second instance quits', () => {
    let quit = 0;
    load(join(REPO, 'dist/main/index.cjs'), {
      app: {
        getAppPath: () => REPO,
        requestSingleInstanceLock: () => false,
        quit: () => quit++,
        whenReady: () => new Promise(() => {}),
        isPackaged: false,
        on: () => {},
      },
    });
    expect(quit).toBe(1);
  });

  it('the preload exposes window.burrow with call and onEvent, and nothing else', () => {
    const exposed: Record<string, unknown> = {};
    load(join(REPO, 'dist/main/preload.cjs'), {
      contextBridge: { exposeInMainWorld: (name: string, api: unknown) => (exposed[name] = api) },
      ipcRenderer: { invoke: async () => ({}), on: () => {}, removeListener: () => {} },
    });
    expect(Object.keys(exposed)).toEqual(['burrow']);
    expect(Object.keys(exposed.burrow as object).sort()).toEqual(['call', 'onEvent']);
  });
});
