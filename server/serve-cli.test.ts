/**
 * `burrow-server serve`'s network options as a program: STUN on by default on UDP 3478 of the
 * listen address (in a network namespace of its own, where that port is surely free), another
 * port or none on request, a port that is taken said clearly, and the public URL a wildcard
 * listen address needs.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from '../src/crypto/index.js';
import { buildBindingRequest, readBindingResponse } from '../src/stun/binding.js';
import { cleanupAll, isRoot, Netns, waitFor } from '../test/support/netns.js';
import { freePort } from '../test/support/ports.js';
import { BURROW_SERVER } from '../test/support/programs.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => cleanupAll(), 30_000);

// The first run of bin/burrow-server may compile the server.
beforeAll(async () => {
  await new Promise((r) => execFile(BURROW_SERVER, ['--help'], r));
}, 180_000);

function tempDb() {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-serve-cli-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, db: join(dir, 'burrow.db') };
}

/** Starts `burrow-server serve ARGS` (in `ns` if given); its output is collected. */
function serve(args: string[], ns?: Netns) {
  const child: ChildProcess = ns
    ? ns.spawn(BURROW_SERVER, ['serve', ...args])
    : spawn(BURROW_SERVER, ['serve', ...args], { stdio: 'pipe' });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  return {
    output: () => output,
    exited,
    started: () =>
      waitFor(
        'burrow-server to start',
        async () => {
          if (child.exitCode !== null) throw new Error(`exited: ${output}`);
          return /burrow-server listening on .*\n/.exec(output)?.[0];
        },
        120_000,
      ),
  };
}

async function udpSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  cleanups.push(() => socket.close());
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return socket;
}

/** A UDP port free on 127.0.0.1 a moment ago (a just-closed port is not handed out again at once). */
async function freeUdpPort(): Promise<number> {
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const { port } = probe.address();
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

describe('burrow-server serve: STUN and the public URL', () => {
  it('answers STUN on the port asked for, and on none with --stun-port 0', async () => {
    const { db } = tempDb();
    const free = await freeUdpPort();
    const on = serve(['--db', db, '--listen', `127.0.0.1:${await freePort()}`, '--stun-port', String(free)]);
    expect(await on.started()).toContain(`STUN on UDP port ${free}`);
    const client = await udpSocket();
    const answer = new Promise<Buffer>((r) => client.once('message', r));
    client.send(buildBindingRequest(randomBytes(12)), free, '127.0.0.1');
    expect(readBindingResponse(new Uint8Array(await answer))).toMatchObject({
      kind: 'success',
      mapped: { host: '127.0.0.1', port: client.address().port },
    });

    const off = serve(['--db', tempDb().db, '--listen', `127.0.0.1:${await freePort()}`, '--stun-port', '0']);
    expect(await off.started()).toMatch(/, no STUN\n$/);
  }, 180_000);

  it('says which STUN port is taken and how to choose another, and does not start', async () => {
    const { db } = tempDb();
    const taken = await udpSocket();
    const port = taken.address().port;
    const s = serve(['--db', db, '--listen', `127.0.0.1:${await freePort()}`, '--stun-port', String(port)]);
    expect(await s.exited).toBe(1);
    expect(s.output()).toBe(
      `burrow-server: cannot serve STUN on UDP 127.0.0.1:${port} (EADDRINUSE): give another port with ` +
        'stunPort (--stun-port N), or 0 for no STUN (devices behind NAT then stay on the relay)\n',
    );
  }, 180_000);

  it('refuses a wildcard listen address without a public URL, and a port that is none', async () => {
    const { db, dir } = tempDb();
    const wild = serve(['--db', db, '--listen', '0.0.0.0:8080']);
    expect(await wild.exited).toBe(2);
    expect(wild.output()).toMatch(
      /^burrow-server: --public-url URL is needed with --listen 0\.0\.0\.0:8080: devices and browsers are sent this server as the URL they reach it at/,
    );
    writeFileSync(join(dir, 'server.hujson'), JSON.stringify({ db, listen: '[::]:8080' }));
    const fromConfig = serve(['--config', join(dir, 'server.hujson')]);
    expect(await fromConfig.exited).toBe(2);
    expect(fromConfig.output()).toMatch(/--public-url URL is needed with --listen \[::\]:8080/);
    for (const [flag, value] of [
      ['--stun-port', '65536'],
      ['--stun-port', 'x'],
      ['--public-url', 'burrow.example.com'],
    ] as const) {
      const bad = serve(['--db', db, '--listen', '127.0.0.1:1', flag, value]);
      expect(await bad.exited).toBe(2);
      expect(bad.output()).toMatch(new RegExp(`^burrow-server: ${flag}: "${value}" is not`));
    }
  }, 180_000);
});

describe.skipIf(!isRoot())(
  'burrow-server serve: STUN by default (root only: it runs in a network namespace)',
  () => {
    it('answers STUN on UDP 3478 of the listen address unless told otherwise', async () => {
      const ns = await Netns.create('bsrv');
      cleanups.push(() => ns.destroy());
      const { db } = tempDb();
      const s = serve(['--db', db, '--listen', '127.0.0.1:8080'], ns);
      expect(await s.started()).toContain('STUN on UDP port 3478');
      const { stdout } = await ns.exec('ss', ['-Hnlu', 'sport', '= :3478']);
      expect(stdout).toContain('127.0.0.1:3478');
    }, 180_000);
  },
);
