/**
 * The packaged programs (scripts/build-package.ts: single executables with their addons beside
 * them) run on their own: copied out of the checkout, with no node_modules around them, from another
 * directory, through a symlink, and say clearly what is wrong when an addon is missing. Runs when
 * BURROW_PROGRAMS points at them (npm test builds them and sets it: scripts/test-packaged.sh).
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgCluster } from '../../server/store/test-support/pg-cluster.js';
import { BURROW_SERVER, BURROWD, PROGRAMS_DIR } from '../support/programs.js';

const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
  version: string;
};

/** Runs `file` from `/` with nothing of the test's environment but PATH; never rejects. */
function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: '/', env: { PATH: process.env.PATH }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** No JavaScript stack or source excerpt: what a user sees is the message alone. */
const noCrashDump = (stderr: string) => expect(stderr).not.toMatch(/^\s+at |node:internal|\^\n/m);

describe.skipIf(!PROGRAMS_DIR)('packaged programs (needs BURROW_PROGRAMS, e.g. dist/package/bin)', () => {
  let tmp: string;
  let helper: string;
  let server: string;
  /** A directory of symlinks to the copies, as /usr/local/bin would be. */
  let links: string;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'burrow-sea-'));
    helper = join(tmp, 'opt/helper');
    server = join(tmp, 'opt/server');
    links = join(tmp, 'bin');
    // The directories the executables really are in (BURROW_PROGRAMS may hold symlinks); burrow is
    // beside burrowd.
    cpSync(dirname(realpathSync(BURROWD)), helper, { recursive: true });
    cpSync(dirname(realpathSync(BURROW_SERVER)), server, { recursive: true });
    mkdirSync(links);
    symlinkSync(join(helper, 'burrowd'), join(links, 'burrowd'));
    symlinkSync(join(helper, 'burrow'), join(links, 'burrow'));
    symlinkSync(join(server, 'burrow-server'), join(links, 'burrow-server'));
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('burrow prints its version (and why burrowd had nothing to add), through a symlink too', async () => {
    for (const file of [join(helper, 'burrow'), join(links, 'burrow')]) {
      const r = await run(file, ['--socket', '/nonexistent/burrowd.sock', 'version']);
      expect(r).toEqual({
        code: 0,
        stdout: `burrow ${version}\n`,
        stderr:
          'burrow: cannot ask burrowd its version: burrowd is not running (no LocalAPI at /nonexistent/burrowd.sock)\n',
      });
    }
  });

  it('burrowd prints its usage on --help, and refuses a bad flag with exit 2', async () => {
    const help = await run(join(links, 'burrowd'), ['--help']);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringMatching(/^usage: burrowd /) });
    const bad = await run(join(links, 'burrowd'), ['--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^burrowd: unknown flag "--bogus"\nusage: burrowd /);
  });

  it('burrowd finds its addon beside the real executable when run through a symlink', async () => {
    // The addon loads before the config is read: a bad config file then shows the addon was found.
    const config = join(tmp, 'wg9.conf');
    writeFileSync(config, 'not a wg-quick file\n', { mode: 0o600 });
    const r = await run(join(links, 'burrowd'), ['--wg-config', config]);
    expect(r.stderr).not.toMatch(/burrow_native/);
    expect(r.code).toBe(2);
    noCrashDump(r.stderr);
  });

  it('burrowd refuses clearly, before anything else, when its addon is missing', async () => {
    rmSync(join(helper, 'burrow_native.node'));
    const r = await run(join(links, 'burrowd'), ['--wg-config', join(tmp, 'wg9.conf')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `burrowd error: burrow_native is missing (no ${join(helper, 'burrow_native.node')}): it ships beside the executable: reinstall Burrow\n`,
    );
  });

  it('burrow-server answers --help and keeps a database, through a symlink too', async () => {
    const help = await run(join(links, 'burrow-server'), ['--help']);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringMatching(/^usage: burrow-server /) });
    const db = join(tmp, 'db/burrow.db');
    expect(await run(join(links, 'burrow-server'), ['users', 'create', 'alice', '--db', db])).toMatchObject({
      code: 0,
      stdout: 'alice\n',
    });
    const list = await run(join(server, 'burrow-server'), ['devices', 'list', '--db', db, '--json']);
    expect(list).toMatchObject({ code: 0, stdout: '[]\n' });
  });

  it('burrow-server keeps a PostgreSQL database too: its driver is bundled', async () => {
    const pg = await startPgCluster();
    try {
      await pg.psql('CREATE DATABASE burrow');
      const db = `postgres://${pg.user}@/burrow?host=${encodeURIComponent(pg.dir)}`;
      expect(await run(join(links, 'burrow-server'), ['users', 'create', 'bob', '--db', db])).toMatchObject({
        code: 0,
        stdout: 'bob\n',
      });
      // Kept in the database: a second bob is refused.
      const again = await run(join(server, 'burrow-server'), ['users', 'create', 'bob', '--db', db]);
      expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(/bob/) });
      noCrashDump(again.stderr);
    } finally {
      await pg.stop();
    }
  });

  it('burrow-server refuses clearly when its addon is missing', async () => {
    rmSync(join(server, 'better_sqlite3.node'));
    const r = await run(join(links, 'burrow-server'), ['devices', 'list', '--db', join(tmp, 'db/burrow.db')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `burrow-server: better-sqlite3's addon is missing (no ${join(server, 'better_sqlite3.node')}): it ships beside the executable\n`,
    );
  });
});
