/**
 * Builds the packaged programs: single executables (Node SEA) with their native addons beside them.
 *
 *   tsx scripts/build-package.ts helper   (npm run build:helper)
 *     dist/package/helper/  burrowd, burrow, burrowd-wg (a launcher), burrow_native.node, burrow_crypto.node
 *   tsx scripts/build-package.ts server   (npm run build:server)
 *     dist/package/server/  burrow-server, better_sqlite3.node
 *
 * and dist/package/bin/, a symlink to each executable: BURROW_PROGRAMS=dist/package/bin runs the
 * tests against the packaged programs (test/support/programs.ts), through symlinks as an install
 * into /usr/local/bin would.
 *
 * Each program's sources are bundled by esbuild into one CommonJS file (BURROW_PACKAGED_VERSION
 * defined: src/packaged.ts finds the addons beside the executable), turned into a SEA blob by
 * `node --experimental-sea-config`, and injected by postject into a copy of the node running this
 * script, which is therefore the node the executables embed. The addons are built first when
 * missing or older than their C sources, and loaded here once, so a broken input stops the build.
 * Each executable is run once before the directory replaces the old one. Prints the sizes.
 *
 * The same inputs give the same bundles and addons; the executables differ in V8's code cache only
 * (useCodeCache: it varies between runs, and saves 20-45 ms of every start).
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build, formatMessages, type Plugin } from 'esbuild';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
/** The sentinel Node looks for to know that a SEA blob was injected (see Node's SEA docs). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

interface Program {
  name: string;
  /** The bundle's entry: imports the program and runs it. */
  entry: string;
  /** A run that must exit 0 before the build is accepted (DB: a fresh database file). */
  check: string[];
}

interface Target {
  programs: Program[];
  /** Shell launchers from bin/ that run a program beside them, copied as they are. */
  launchers?: string[];
  /** Checks (and if needed builds) the addons, and returns them: file name in the package -> path. */
  addons(): Promise<Record<string, string>>;
}

const TARGETS: Record<string, Target> = {
  helper: {
    programs: [
      // burrowd's main.ts runs itself on import; the CLI's and the server's run only as scripts.
      { name: 'burrowd', entry: `import './helper/burrowd/main.ts';`, check: ['--help'] },
      {
        name: 'burrow',
        entry: `import { run } from './helper/cli/main.ts';\nvoid run();`,
        check: ['--help'],
      },
    ],
    // wireguard-go's command line on burrowd, for wg-quick (WG_QUICK_USERSPACE_IMPLEMENTATION).
    launchers: ['burrowd-wg'],
    addons: helperAddons,
  },
  server: {
    programs: [
      {
        name: 'burrow-server',
        entry: `import { run } from './server/main.ts';\nvoid run();`,
        // Opens a database: better_sqlite3.node loads from beside the executable.
        check: ['devices', 'list', '--db', 'DB'],
      },
    ],
    addons: serverAddons,
  },
};

/** Newest modification time among the files under `paths` (directories walked). */
function newest(paths: string[], keep: (file: string) => boolean): number {
  let mtime = 0;
  for (const path of paths) {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      const entries = readdirSync(path).map((e) => join(path, e));
      mtime = Math.max(mtime, newest(entries, keep));
    } else if (keep(path)) mtime = Math.max(mtime, stat.mtimeMs);
  }
  return mtime;
}

/** burrow_native and burrow_crypto from build/Release, rebuilt by node-gyp when missing or stale. */
async function helperAddons(): Promise<Record<string, string>> {
  const names = ['burrow_native.node', 'burrow_crypto.node'];
  const files = names.map((n) => join(root, 'build/Release', n));
  // The C sources and the gyp file; the TypeScript beside them does not go into the addons.
  const sources = newest(
    ['binding.gyp', 'helper/native', 'helper/crypto/native'].map((p) => join(root, p)),
    (file) => !file.endsWith('.ts'),
  );
  if (files.some((f) => !existsSync(f) || statSync(f).mtimeMs < sources)) {
    console.log('build-package: building the addons (npm run install: node-gyp rebuild)');
    await exec('npm', ['run', '--silent', 'install'], { cwd: root, maxBuffer: 64 << 20 });
  }
  // Loaded through the checkout's own loaders: a missing, stale (ABI) or failing addon stops here.
  const { native } = await import('../helper/native/index.js');
  const { nativeCrypto } = await import('../helper/crypto/native-crypto.js');
  const { selfTest } = await import('../src/crypto/index.js');
  native();
  if (!selfTest(nativeCrypto())) throw new Error('burrow_crypto fails its self-test');
  return Object.fromEntries(names.map((n, i) => [n, files[i]!]));
}

/** better-sqlite3's addon, as npm ci built it for this node. */
async function serverAddons(): Promise<Record<string, string>> {
  const pkg = dirname(require.resolve('better-sqlite3/package.json'));
  const file = join(pkg, 'build/Release/better_sqlite3.node');
  if (!existsSync(file))
    throw new Error(`${file} is missing: run "npm ci" (or "npm rebuild better-sqlite3")`);
  // Built against this node's ABI (it is not an N-API addon), so it must open a database here.
  const Database = require('better-sqlite3') as typeof import('better-sqlite3');
  new Database(':memory:', { nativeBinding: file }).close();
  return { 'better_sqlite3.node': file };
}

/**
 * pg requires its optional libpq binding, pg-native, only when `pg.native` is read, which Burrow
 * never does. Bundled as a module that says so, the program needs no file beside it.
 */
const withoutPgNative: Plugin = {
  name: 'without-pg-native',
  setup(b) {
    b.onResolve({ filter: /^pg-native$/ }, () => ({ path: 'pg-native', namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, () => ({
      contents: "throw new Error('pg-native is not part of the packaged burrow-server');",
      loader: 'js',
    }));
  },
};

/** Bundles `program` into one CommonJS file that needs nothing but node's built-in modules. */
async function bundle(program: Program, outfile: string, version: string): Promise<void> {
  const result = await build({
    stdin: {
      contents: program.entry,
      resolveDir: root,
      sourcefile: `${program.name}-entry.ts`,
      loader: 'ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    define: {
      BURROW_PACKAGED_VERSION: JSON.stringify(version),
      // The checkout-only paths that read it are not taken in a packaged program (src/packaged.ts).
      'import.meta.url': 'undefined',
    },
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
    plugins: [withoutPgNative],
  });
  // Any warning (another import.meta use, an unresolved require...) would be a runtime surprise.
  if (result.warnings.length) {
    const text = await formatMessages(result.warnings, { kind: 'warning' });
    throw new Error(`esbuild warned while bundling ${program.name}:\n${text.join('\n')}`);
  }
  const external = Object.values(result.metafile.outputs)
    .flatMap((o) => o.imports)
    .filter((i) => i.external && !isBuiltin(i.path));
  if (external.length)
    throw new Error(
      `${program.name} imports non-built-in modules: ${external.map((i) => i.path).join(', ')}`,
    );
}

/** Makes `out` a single executable running `script`: blob by node, copy of node, blob injected. */
async function singleExecutable(script: string, out: string): Promise<void> {
  const blob = `${script}.blob`;
  const config = `${script}.sea-config.json`;
  writeFileSync(
    config,
    // Names relative to the work directory: the blob records `main`, which must not vary between builds.
    `${JSON.stringify({ main: basename(script), output: basename(blob), disableExperimentalSEAWarning: true, useCodeCache: true }, null, 2)}\n`,
  );
  await exec(process.execPath, ['--experimental-sea-config', config], { cwd: dirname(script) });
  copyFileSync(process.execPath, out);
  const postject = join(dirname(require.resolve('postject/package.json')), 'dist/cli.js');
  const { stderr } = await exec(process.execPath, [
    postject,
    out,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    SEA_FUSE,
  ]).catch((error: { stdout: string; stderr: string }) => {
    throw new Error(`postject failed on ${out}:\n${error.stdout}${error.stderr}`);
  });
  // LIEF, inside postject, warns about node's .note sections on every injection (nodejs/postject#83):
  // known and harmless, the executable is checked below. Anything else is shown.
  const other = stderr
    .split('\n')
    .filter((l) => l && !/^warning: Can't find string offset for section name/.test(l));
  if (other.length) console.log(other.join('\n'));
}

async function main(which: string | undefined): Promise<void> {
  const target = which === undefined ? undefined : TARGETS[which];
  if (which === undefined || target === undefined) {
    console.error(`usage: tsx scripts/build-package.ts ${Object.keys(TARGETS).join('|')}`);
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
    .version;
  const packageDir = join(root, 'dist/package');
  const outDir = join(packageDir, which);
  // Built beside the result, then swapped in: a failed build leaves the previous one whole.
  const work = join(packageDir, `.build-${which}-${process.pid}`);
  const staging = join(work, which);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const addons = await target.addons();
    for (const [name, file] of Object.entries(addons)) copyFileSync(file, join(staging, name));
    for (const program of target.programs) {
      const script = join(work, `${program.name}.cjs`);
      await bundle(program, script, version);
      await singleExecutable(script, join(staging, program.name));
      const args = program.check.map((a) => (a === 'DB' ? join(work, 'check.db') : a));
      // NODE_OPTIONS would reach the executable (a SEA honours it): run it as a user would.
      const env = { ...process.env, NODE_OPTIONS: '' };
      await exec(join(staging, program.name), args, { env, timeout: 30_000 }).catch((error: Error) => {
        throw new Error(`the built ${program.name} does not run: ${error.message}`);
      });
    }
    for (const name of target.launchers ?? []) copyFileSync(join(root, 'bin', name), join(staging, name));
    rmSync(outDir, { recursive: true, force: true });
    renameSync(staging, outDir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const binDir = join(packageDir, 'bin');
  mkdirSync(binDir, { recursive: true });
  for (const name of [...target.programs.map((p) => p.name), ...(target.launchers ?? [])]) {
    rmSync(join(binDir, name), { force: true });
    symlinkSync(join('..', which, name), join(binDir, name));
  }

  console.log(
    `build-package: ${relative(root, outDir)} (node ${process.version}, ${Math.round(performance.now() - started)} ms)`,
  );
  for (const name of readdirSync(outDir).sort()) {
    const bytes = statSync(join(outDir, name)).size;
    console.log(
      `  ${name.padEnd(20)} ${String(bytes).padStart(10)} B  ${(bytes / 2 ** 20).toFixed(1).padStart(6)} MiB`,
    );
  }
}

await main(process.argv[2]);
