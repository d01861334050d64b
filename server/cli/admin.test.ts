import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { openSqliteStore } from '../store/sqlite-store.js';

const KEY = (n: number) => Buffer.alloc(32, n).toString('base64');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-server-cli-'));
  dirs.push(dir);
  const db = join(dir, 'burrow.db');
  /** Runs a command; with `typed`, a terminal where those lines are typed at its prompts. */
  const runAt = async (typed: string[] | null, ...argv: string[]) => {
    let out = '';
    let err = '';
    const prompts: string[] = [];
    const code = await main(
      [...argv, '--db', db],
      {
        out: (t) => (out += t),
        err: (t) => (err += t),
        ...(typed
          ? {
              readSecret: (prompt: string) => {
                prompts.push(prompt);
                const line = typed.shift();
                if (line === undefined) throw new Error(`nothing typed at "${prompt}"`);
                return line;
              },
            }
          : {}),
      },
      1_800_000_000_000,
    );
    return { code, out, err, prompts };
  };
  const run = async (...argv: string[]) => await runAt(null, ...argv);
  return { db, run, runAt, dir };
}

describe('burrow-server admin commands', () => {
  it('creates users in shared and personal networks, and auth keys that print only the key', async () => {
    const { db, run } = setup();
    expect(await run('users', 'create', 'alice', '--network', 'family')).toMatchObject({
      code: 0,
      out: 'alice\n',
    });
    expect((await run('users', 'create', 'bob', '--network', 'family')).code).toBe(0);
    expect((await run('users', 'create', 'carol')).err).toMatch(/in network carol/);
    const key = await run('authkeys', 'create', '--user', 'alice', '--reusable', '--expiry', '7d');
    expect(key.code).toBe(0);
    expect(key.out).toMatch(/^bkey-[A-Za-z0-9]+-[A-Za-z0-9_-]+\n$/);
    const store = openSqliteStore({ path: db });
    try {
      const family = (await store.findNetworkByName('family'))!;
      expect((await store.listUsers(family.id)).map((u) => u.name).sort()).toEqual(['alice', 'bob']);
      const device = await store.registerDeviceWithAuthKey(
        key.out.trim(),
        { machineKey: KEY(1), nodeKey: KEY(2), discoKey: KEY(3), hostname: 'Laptop' },
        1_800_000_000_000,
      );
      expect(device.userId).toBe((await store.findUserByName('alice'))!.id);
    } finally {
      await store.close();
    }
    const list = await run('devices', 'list');
    expect(list.out).toMatch(/^NETWORK\s+NAME\s+USER\s+IPV4/);
    expect(list.out).toMatch(/family\s+laptop\s+alice\s+100\.64\./);
    const json = JSON.parse((await run('devices', 'list', '--json')).out);
    expect(json[0]).toMatchObject({ name: 'laptop', user: 'alice', network: 'family' });
  });

  it('approves routes and exit nodes by device name', async () => {
    const { db, run } = setup();
    await run('users', 'create', 'alice');
    const key = (await run('authkeys', 'create', '--user', 'alice')).out.trim();
    const store = openSqliteStore({ path: db });
    await store.registerDeviceWithAuthKey(
      key,
      { machineKey: KEY(1), nodeKey: KEY(2), discoKey: KEY(3), hostname: 'gw' },
      1_800_000_000_000,
    );
    await store.close();
    expect((await run('routes', 'approve', 'gw', '10.1.0.0/16')).code).toBe(0);
    const r = await run('routes', 'approve', 'gw', '--exit-node');
    expect(r.err).toMatch(/approved 10\.1\.0\.0\/16, exit node \(not advertised yet: 10\.1\.0\.0\/16\)/);
    expect(JSON.parse((await run('devices', 'list', '--json')).out)[0]).toMatchObject({
      approvedRoutes: ['10.1.0.0/16'],
      exitNodeApproved: true,
    });
  });

  it('creates a user with a password from a file, so they can sign in; a short one is refused', async () => {
    const { db, run, dir } = setup();
    writeFileSync(join(dir, 'pw'), 'correct horse\n');
    writeFileSync(join(dir, 'short'), 'abc');
    expect((await run('users', 'create', 'lena', '--password-file', join(dir, 'pw'))).code).toBe(0);
    expect(await run('users', 'create', 'max', '--password-file', join(dir, 'short'))).toMatchObject({
      code: 1,
      err: expect.stringMatching(/a password must be 8-256 characters/),
    });
    const store = openSqliteStore({ path: db });
    expect((await store.verifyPassword('lena', 'correct horse'))?.name).toBe('lena');
    expect(await store.findUserByName('max')).toBeNull(); // nothing half-made
    await store.close();
  });

  it('says, creating a user, how they sign in: an auth key, or a password on the sign-in page', async () => {
    const { run, dir } = setup();
    expect((await run('users', 'create', 'alice')).err).toMatch(
      /alice has no password: devices join with an auth key \(burrow-server authkeys create --user alice\); to sign in on the sign-in page `burrow up` without --auth-key links to, set one with burrow-server users passwd alice/,
    );
    writeFileSync(join(dir, 'pw'), 'correct horse\n');
    expect((await run('users', 'create', 'lena', '--password-file', join(dir, 'pw'))).err).toMatch(
      /lena signs in with that password on the sign-in page `burrow up` without --auth-key links to, or devices join with an auth key/,
    );
  });

  it('sets a password asked twice at the terminal, or read from a file; a mismatch changes nothing', async () => {
    const { db, run, runAt, dir } = setup();
    await run('users', 'create', 'alice');
    const signsIn = async (password: string) => {
      const store = openSqliteStore({ path: db });
      try {
        return (await store.verifyPassword('alice', password)) !== null;
      } finally {
        await store.close();
      }
    };
    expect(await run('users', 'passwd', 'alice')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/no terminal to ask for a password on: give --password-file PATH/),
    });
    expect(await runAt(['sloths are fast', 'sloths are slow'], 'users', 'passwd', 'alice')).toMatchObject({
      code: 1,
      err: 'burrow-server: the passwords differ; nothing changed\n',
      prompts: ['New password for alice: ', 'Again: '],
    });
    // Too short: refused before it is asked again.
    expect(await runAt(['sloth'], 'users', 'passwd', 'alice')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/a password must be 8-256 characters/),
      prompts: ['New password for alice: '],
    });
    expect(await signsIn('sloths are fast')).toBe(false);

    expect(await runAt(['sloths are fast', 'sloths are fast'], 'users', 'passwd', 'alice')).toMatchObject({
      code: 0,
      out: '',
      err: expect.stringMatching(
        /^password of alice set\nalice signs in with that password on the sign-in page/,
      ),
    });
    expect(await signsIn('sloths are fast')).toBe(true);

    writeFileSync(join(dir, 'pw'), 'sloths are slow\n');
    expect(await run('users', 'passwd', 'alice', '--password-file', join(dir, 'pw'))).toMatchObject({
      code: 0,
      err: expect.stringMatching(/^password of alice changed\n/),
    });
    expect(await signsIn('sloths are fast')).toBe(false);
    expect(await signsIn('sloths are slow')).toBe(true);

    expect(await run('users', 'passwd', 'bob', '--password-file', join(dir, 'pw'))).toMatchObject({
      code: 2,
      err: expect.stringMatching(/no user "bob"/),
    });
    expect((await run('users', 'passwd', 'alice', '--password-file', join(dir, 'missing'))).code).toBe(2);
  });

  it('renames, re-keys and deletes devices by name', async () => {
    const { db, run } = setup();
    await run('users', 'create', 'alice');
    const key = (await run('authkeys', 'create', '--user', 'alice')).out.trim();
    const store = openSqliteStore({ path: db });
    const d = await store.registerDeviceWithAuthKey(
      key,
      { machineKey: KEY(1), nodeKey: KEY(2), discoKey: KEY(3), hostname: 'old' },
      1_800_000_000_000,
    );
    await store.close();
    expect((await run('devices', 'rename', 'old', 'Bad Name')).err).toMatch(/DNS label|name/);
    expect((await run('devices', 'rename', 'old', 'nas')).err).toBe('old is now nas\n');
    expect((await run('devices', 'expiry', 'nas', 'never')).err).toBe('nas: node key expires never\n');
    expect((await run('devices', 'expiry', 'nas', '30d')).err).toMatch(/^nas: node key expires 2027-/);
    const listed = JSON.parse((await run('devices', 'list', '--json')).out);
    expect(listed).toMatchObject([{ id: d.id, name: 'nas', ipv4: d.ipv4 }]);
    expect((await run('devices', 'delete', 'nas')).err).toBe(`deleted nas (${d.ipv4})\n`);
    expect(JSON.parse((await run('devices', 'list', '--json')).out)).toEqual([]);
    expect(await run('devices', 'delete', 'nas')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/no device "nas"/),
    });
  });

  it('makes API keys for one named network, lists them with it, and revokes them by prefix', async () => {
    const { run } = setup();
    await run('users', 'create', 'alice', '--network', 'home');
    const made = await run('apikeys', 'create', '--network', 'home', '--expiry', '30d');
    expect(made.out).toMatch(/^bapi-[0-9a-f]{12}-[A-Za-z0-9_-]{43}\n$/);
    const prefix = made.out.split('-')[1]!;
    expect(made.err).toBe(`API key ${prefix} for network home, expires 2027-02-14T08:00:00.000Z\n`);
    // Without --expiry, 90 days.
    expect((await run('apikeys', 'create', '--network', 'home')).err).toMatch(
      /expires 2027-04-15T08:00:00\.000Z\n$/,
    );
    const list = (await run('apikeys', 'list')).out.split('\n');
    expect(list[0]).toMatch(/^PREFIX\s+ID\s+NETWORK\s+CREATED\s+EXPIRES\s+LAST USED$/);
    // Both were made at the same moment: listed in id order, which is random.
    expect(list.find((line) => line.startsWith(prefix))).toMatch(
      new RegExp(`^${prefix}\\s+\\S+\\s+home\\s+2027-01-15T08:00:00\\.000Z\\s+2027-02-14`),
    );
    expect(await run('apikeys', 'revoke', prefix)).toMatchObject({
      code: 0,
      err: `API key ${prefix} revoked\n`,
    });
    expect(JSON.parse((await run('apikeys', 'list', '--json')).out)).toEqual([
      expect.objectContaining({ network: 'home', expiresAt: 1_800_000_000_000 + 90 * 86_400_000 }),
    ]);
    expect(await run('apikeys', 'revoke', prefix)).toMatchObject({
      code: 2,
      err: expect.stringMatching(/no API key/),
    });
  });

  it.each([
    [['apikeys', 'create'], 2, /usage: burrow-server apikeys create --network NET \[--expiry DUR\]/],
    [['apikeys', 'create', '--network', 'nowhere'], 2, /no network "nowhere"/],
    [['apikeys', 'create', '--network', 'alice', '--expiry', 'never'], 2, /API keys always expire/],
    [['users', 'create'], 2, /usage: burrow-server users create NAME/],
    [['nope', 'x'], 2, /unknown command "nope x"/],
    [['authkeys', 'create', '--user', 'ghost'], 2, /no user "ghost"/],
    [['authkeys', 'create', '--user', 'alice', '--expiry', 'soon'], 2, /--expiry: "soon" is not a duration/],
    [['routes', 'approve', 'ghost', '10.0.0.0/8'], 2, /no device "ghost"/],
    [['users', 'create', 'alice'], 1, /user "alice" already exists/],
  ])('%j fails with exit %i and a clear message', async (argv, code, message) => {
    const { run } = setup();
    await run('users', 'create', 'alice');
    const r = await run(...argv);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });

  it('runs as a real program from ./bin/burrow-server', async () => {
    const { db } = setup();
    const bin = resolve(import.meta.dirname, '../../bin/burrow-server');
    const run = promisify(execFile);
    await run(bin, ['users', 'create', 'dave', '--db', db]);
    const { stdout } = await run(bin, ['authkeys', 'create', '--user', 'dave', '--db', db]);
    expect(stdout).toMatch(/^bkey-/);
    await expect(run(bin, ['users', 'create', '--db', db])).rejects.toMatchObject({ code: 2 });
  }, 120_000);
});

describe('burrow-server policy commands', () => {
  it('sets a valid policy whose tests pass, refuses bad ones naming the problem, and gets it back', async () => {
    const { run } = setup();
    await run('users', 'create', 'alice', '--network', 'home');
    await run('users', 'create', 'bob', '--network', 'home');
    const dir = dirs[dirs.length - 1]!;
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    expect((await run('policy', 'get')).err).toMatch(/no policy: its members can all reach each other/);
    const good = write(
      'good.hujson',
      `{
        // alice may reach everything of bob's on 22
        "acls": [{"action": "accept", "src": ["alice"], "dst": ["bob:22"]},],
        "tests": [{"src": "alice", "accept": ["bob:22"], "deny": ["bob:80"]}],
      }`,
    );
    expect(await run('policy', 'test', good)).toMatchObject({ code: 0, out: '' });
    expect((await run('policy', 'set', good)).code).toBe(0);
    expect((await run('policy', 'get')).out).toContain('alice may reach everything');

    const failing = write(
      'failing.hujson',
      '{"acls": [{"action": "accept", "src": ["alice"], "dst": ["bob:*"]}], "tests": [{"src": "alice", "deny": ["bob:80"]}]}',
    );
    const r = await run('policy', 'set', failing);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/failing\.hujson: policy tests failed:\n {2}tests\[0\]/);
    const syntax = write('syntax.hujson', '{"acls": [}');
    expect((await run('policy', 'test', syntax)).err).toMatch(/syntax\.hujson:1:\d+:/);
    const unknown = write('unknown.hujson', '{"acl": []}');
    expect((await run('policy', 'test', unknown)).err).toMatch(/unknown\.hujson: acl: unknown section/);
    // Nothing of the refused ones was stored.
    expect((await run('policy', 'get')).out).toContain('alice may reach everything');
  });
});
