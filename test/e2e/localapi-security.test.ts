/**
 * burrowd's LocalAPI against other local users, with the real programs: burrowd in a namespace
 * (with an operator uid), the real burrow-server, the burrow CLI and curl run as other uids.
 *
 * The login URL is the power to sign the device in (whoever signs in there decides whose network
 * it joins), so while burrowd needs a login only root and the operator may see it: a local user
 * who may only read must find neither the URL nor any /login/ path, in status, in the events
 * stream (opened before or after the URL exists) or in any other read-only operation.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCALAPI_PREFIX, operations } from '../../src/localapi/api.js';
import { endlessUpload } from '../support/endless-upload.js';
import { type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';
import { BURROW } from '../support/programs.js';

const exec = promisify(execFile);
const NOBODY = '65534';
/** burrowd's operator: a uid with no account (burrowd takes a number as it is). */
const OPERATOR = '4242';
const T = 60_000;

const asUid = (uid: string, cmd: string, args: string[]) => [
  '--reuid',
  uid,
  '--regid',
  uid,
  '--clear-groups',
  cmd,
  ...args,
];

/** A process, its stdout and stderr collected together. */
interface Running {
  proc: ChildProcess;
  out(): string;
}

describe.skipIf(!isRoot())('the LocalAPI against other local users (real burrowd)', () => {
  let lab: MeshLab;
  let R: LabDevice;
  const running: Running[] = [];

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.startServer();
    chmodSync(lab.dir, 0o755); // other uids must reach the socket
    R = await lab.device('r', { operator: OPERATOR });
  }, 120_000);

  afterAll(async () => {
    for (const r of running) r.proc.kill();
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  /** Starts `cmd` as `uid` (root: as it is) in R's namespace. */
  const start = (uid: string, cmd: string, args: string[]): Running => {
    const proc = uid === '0' ? R.ns.spawn(cmd, args) : R.ns.spawn('setpriv', asUid(uid, cmd, args));
    let out = '';
    proc.stdout?.on('data', (d) => (out += d));
    proc.stderr?.on('data', (d) => (out += d));
    const r = { proc, out: () => out };
    running.push(r);
    return r;
  };
  /** Runs `cmd` as `uid` to its end; its stdout, or its error in words. */
  const runAs = (uid: string, cmd: string, args: string[]) =>
    exec('setpriv', asUid(uid, cmd, args), { timeout: 30_000 }).then(
      (r) => ({ ok: true, out: r.stdout }),
      (e: Error & { stdout?: string; stderr?: string }) => ({
        ok: false,
        out: `${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      }),
    );
  const events = (uid: string) =>
    start(uid, 'curl', ['-sN', '--unix-socket', R.socket, `http://local${LOCALAPI_PREFIX}/events`]);

  it(
    'only root and the operator see the login URL; other users see needs-login and no URL anywhere',
    async () => {
      // Opened before the URL exists, so the URL (or its absence) arrives as a live event.
      const nobodyBefore = events(NOBODY);
      const operatorBefore = events(OPERATOR);
      await waitFor('both streams to open', async () =>
        [nobodyBefore, operatorBefore].every((s) => s.out().includes('"type":"state"')),
      );

      const rootUp = start('0', BURROW, ['--socket', R.socket, 'up', '--login-server', lab.serverUrl]);
      const url = await waitFor(
        'root to be shown the login URL',
        async () => /To authenticate, visit:\s+(\S+)/.exec(rootUp.out())?.[1],
        15_000,
      );
      expect(url.startsWith(`${lab.serverUrl}/login/`)).toBe(true);

      // The operator may sign the device in: its stream carries the URL, and so does its `burrow up`.
      await waitFor('the URL in the operator stream', async () => operatorBefore.out().includes(url));
      const operatorUp = start(OPERATOR, BURROW, ['--socket', R.socket, 'up']);
      await waitFor('the operator to be shown the URL', async () =>
        operatorUp.out().includes(`To authenticate, visit:\n\n\t${url}`),
      );

      // Anyone else: a stream opened now starts with the current state; both must say needs-login.
      const nobodyAfter = events(NOBODY);
      await waitFor('needs-login in both of nobody streams', async () =>
        [nobodyBefore, nobodyAfter].every((s) => s.out().includes('"backendState":"needs-login"')),
      );
      const json = await runAs(NOBODY, BURROW, ['--socket', R.socket, 'status', '--json']);
      expect(json.ok, json.out).toBe(true);
      expect(JSON.parse(json.out)).toMatchObject({ backendState: 'needs-login', authUrl: null });
      const text = await runAs(NOBODY, BURROW, ['--socket', R.socket, 'status']);
      expect(text.out).toContain("Log in with `burrow up`, as root or burrowd's operator");
      // Every operation a reader may call, straight from the operation table.
      const reads = await Promise.all(
        Object.entries(operations)
          .filter(([name, op]) => !op.mutating && name !== 'events')
          .map(([name, op]) => {
            const body = name === 'ping' ? ['--data-binary', '{"peer":"r","timeoutMs":100}'] : [];
            const curl = ['-s', '-X', op.method, ...body, '--unix-socket', R.socket];
            return runAs(NOBODY, 'curl', [...curl, `http://local${LOCALAPI_PREFIX}${op.path}`]);
          }),
      );
      const up = await runAs(NOBODY, BURROW, ['--socket', R.socket, 'up']);
      expect(up.out).toMatch(/only root or the operator/);

      const seen = [json, text, up, ...reads].map((r) => r.out);
      seen.push(nobodyBefore.out(), nobodyAfter.out());
      for (const out of seen) {
        expect(out).not.toContain(url);
        expect(out).not.toContain('/login/');
      }
    },
    T,
  );

  it(
    'answers an endless chunked body with 413 and closes the connection',
    async () => {
      const res = await endlessUpload(R.socket, 'PATCH', `${LOCALAPI_PREFIX}/prefs`);
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body).error).toMatch(/request body over 65536 bytes/);
      expect(res.sent).toBeLessThan(16 * 1024 * 1024);
      expect((await R.status()).backendState).toBe('needs-login'); // and it still serves
    },
    T,
  );
});
