/**
 * `burrow-server users passwd` at a real terminal (a pseudo-terminal, test/support/pty.ts): the
 * real program, as an administrator would run it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BURROW_SERVER } from '../../test/support/programs.js';
import { inPty, type PtySession } from '../../test/support/pty.js';
import { openSqliteStore } from '../store/sqlite-store.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** Runs the program with `input` on a pipe as its standard input. */
const piped = (input: string, ...argv: string[]) =>
  new Promise<{ code: number; stderr: string }>((resolve) => {
    const child = execFile(BURROW_SERVER, argv, (error, _stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stderr }),
    );
    child.stdin!.end(input);
  });

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-passwd-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'burrow.db');
  const store = openSqliteStore({ path: db });
  cleanups.push(() => store.close());
  await store.createUser({ name: 'alice' }, Date.now());
  /** `users passwd alice` at a terminal; then its exit code and the terminal's settings are shown. */
  const passwd = (): PtySession => {
    const session = inPty(
      `'${BURROW_SERVER}' users passwd alice --db '${db}'; echo "exit=$?"; stty -a | tr ' ' '\\n' | grep -x -- '-*echo'`,
    );
    cleanups.push(() => session.kill());
    return session;
  };
  return { db, store, passwd };
}

// The first run of bin/burrow-server may compile the server.
beforeAll(async () => {
  await new Promise((r) => execFile(BURROW_SERVER, ['--help'], r));
}, 180_000);

describe('burrow-server users passwd at a terminal', () => {
  it('asks twice without showing what is typed, sets the password, and gives the terminal back', async () => {
    const { store, passwd } = await setup();
    const t = passwd();
    let at = await t.waitFor('New password for alice: ');
    // A mistyped last character (a two-byte one), erased with Backspace.
    t.type('sloths are fastł\x7f\r');
    at = await t.waitFor('Again: ', at);
    t.type('sloths are fast\r');
    at = await t.waitFor('exit=0', at);
    await t.waitFor('\r\necho\r\n', at); // echo is on again
    expect(await t.exited).toBe(0);
    expect(t.screen()).toContain('password of alice set');
    expect(t.screen()).not.toContain('sloth');
    expect((await store.verifyPassword('alice', 'sloths are fast'))?.name).toBe('alice');
  }, 60_000);

  it('Ctrl-C cancels at once, changes nothing, and gives the terminal back', async () => {
    const { store, passwd } = await setup();
    const t = passwd();
    const at = await t.waitFor('New password for alice: ');
    t.type('sloths are');
    t.type('\x03');
    const end = await t.waitFor('exit=1', at);
    await t.waitFor('\r\necho\r\n', end);
    expect(t.screen()).toContain('burrow-server: cancelled; nothing changed');
    expect(t.screen()).not.toContain('sloth');
    expect((await store.findUserByName('alice'))?.hasPassword).toBe(false);
  }, 60_000);

  it('without a terminal, asks for --password-file, which reads standard input as - or /dev/stdin', async () => {
    const { db, store } = await setup();
    const noTerminal = await piped('sloths are fast\n', 'users', 'passwd', 'alice', '--db', db);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toMatch(
      /standard input is not a terminal to ask for a password on: give --password-file PATH \(- or \/dev\/stdin: from standard input\)/,
    );
    expect((await store.findUserByName('alice'))?.hasPassword).toBe(false);
    const fromStdin = await piped(
      'sloths are fast\n',
      'users',
      'passwd',
      'alice',
      '--password-file',
      '/dev/stdin',
      '--db',
      db,
    );
    expect(fromStdin).toMatchObject({ code: 0, stderr: expect.stringMatching(/password of alice set/) });
    expect((await store.verifyPassword('alice', 'sloths are fast'))?.name).toBe('alice');
  }, 60_000);
});
