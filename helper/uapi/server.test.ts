import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EADDRINUSE, EMSGSIZE } from './errno.js';
import type { UapiSetRequest } from './protocol.js';
import {
  startUapiServer,
  type UapiHandler,
  type UapiServer,
  type UapiServerOptions,
  uapiSocketPath,
} from './server.js';

let dir: string;
let path: string;
const servers: UapiServer[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'burrow-uapi-'));
  path = join(dir, 'run', 'wireguard', 'bwt0.sock');
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(
  handler: Partial<UapiHandler> = {},
  options: UapiServerOptions = {},
): Promise<UapiServer> {
  const server = await startUapiServer(
    path,
    { get: handler.get ?? (() => 'listen_port=1\n'), set: handler.set ?? (() => ({ errno: 0 })) },
    options,
  );
  servers.push(server);
  return server;
}

/** Sends `text` on a new connection; resolves with all it reads once `answers` errno lines came or the server hung up. */
function exchange(text: string | Buffer, answers = 1): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let data = '';
    const done = (closed: boolean) => {
      socket.destroy();
      resolve({ data, closed });
    };
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if ((data.match(/errno=-?\d+\n\n/g) ?? []).length >= answers) done(false);
    });
    socket.on('end', () => done(true));
    socket.on('error', reject);
    socket.write(text);
  });
}

describe('startUapiServer', () => {
  it('creates the directory 0755 and the socket 0600', async () => {
    await start();
    expect((await stat(join(dir, 'run', 'wireguard'))).mode & 0o777).toBe(0o755);
    const socket = await lstat(path);
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
  });

  it('answers get and set, several on one connection', async () => {
    const sets: UapiSetRequest[] = [];
    await start({
      set: (request) => {
        sets.push(request);
        return { errno: 0 };
      },
    });
    const { data } = await exchange('get=1\n\nset=1\nlisten_port=2\n\nget=1\n\n', 3);
    expect(data).toBe('listen_port=1\nerrno=0\n\nerrno=0\n\nlisten_port=1\nerrno=0\n\n');
    expect(sets).toEqual([{ device: [{ key: 'listen_port', value: 2 }], peers: [] }]);
  });

  it('answers a failed set with a negative errno, and a failed get with a positive one', async () => {
    await start({
      get: () => {
        throw Object.assign(new Error('gone'), { code: 'EADDRINUSE' });
      },
      set: () => ({ errno: 22, message: 'line 2: bad' }),
    });
    expect((await exchange('set=1\nlisten_port=1\n\n')).data).toBe('errno=-22\n\n');
    expect((await exchange('get=1\n\n')).data).toBe(`errno=${EADDRINUSE}\n\n`);
  });

  it('logs why a request failed', async () => {
    const log: string[] = [];
    await start({ set: () => ({ errno: 22, message: 'line 2: bad' }) }, { log: (m) => log.push(m) });
    await exchange('set=1\nlisten_port=1\n\n');
    await exchange('set=1\nx=1\n\n');
    expect(log).toEqual(['UAPI set refused: line 2: bad', 'UAPI set refused: line 2: x: unknown key']);
  });

  it('handles one request at a time, across connections', async () => {
    let port = 1;
    await start({
      get: () => `listen_port=${port}\n`,
      set: async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        port = 2;
        return { errno: 0 };
      },
    });
    const slowSet = exchange('set=1\nlisten_port=2\n\n');
    await new Promise((resolve) => setTimeout(resolve, 10));
    const get = await exchange('get=1\n\n');
    expect(get.data).toBe('listen_port=2\nerrno=0\n\n');
    expect((await slowSet).data).toBe('errno=0\n\n');
  });

  it('takes a request over 1 MiB, as wireguard-go does (wg setconf of a big file)', async () => {
    const sets: UapiSetRequest[] = [];
    await start({
      set: (request) => {
        sets.push(request);
        return { errno: 0 };
      },
    });
    const big = `set=1\npublic_key=${'ab'.repeat(32)}\n${'allowed_ip=10.0.0.0/8\n'.repeat(60_000)}\nget=1\n\n`;
    expect(big.length).toBeGreaterThan(1 << 20);
    expect(await exchange(big, 2)).toEqual({ data: 'errno=0\n\nlisten_port=1\nerrno=0\n\n', closed: false });
    expect(sets[0]!.peers[0]!.ops).toHaveLength(60_000);
  });

  it('refuses a request of more lines than its limit, and reads on', async () => {
    let called = false;
    await start(
      {
        set: () => {
          called = true;
          return { errno: 0 };
        },
      },
      { maxSetLines: 1000 },
    );
    const long = `set=1\n${'listen_port=1\n'.repeat(1001)}\nget=1\n\n`;
    expect(await exchange(long, 2)).toEqual({
      data: `errno=-${EMSGSIZE}\n\nlisten_port=1\nerrno=0\n\n`,
      closed: false,
    });
    expect(called).toBe(false);
  });

  it('refuses a line over 4 KiB and hangs up', async () => {
    await start();
    expect(await exchange(`set=1\nendpoint=${'1'.repeat(5000)}\n\n`, Number.POSITIVE_INFINITY)).toEqual({
      data: `errno=-${EMSGSIZE}\n\n`,
      closed: true,
    });
  });

  it('hangs up on an unknown operation without answering', async () => {
    await start();
    expect(await exchange('hello=1\n\n')).toEqual({ data: '', closed: true });
  });

  it('closes an idle connection', async () => {
    await start({}, { idleTimeoutMs: 100 });
    const socket = createConnection(path);
    const closedAfter = await new Promise<number>((resolve) => {
      const t0 = Date.now();
      socket.on('close', () => resolve(Date.now() - t0));
    });
    expect(closedAfter).toBeGreaterThanOrEqual(90);
  });

  it('replaces a socket file nothing listens on', async () => {
    // A process that dies while listening leaves its socket file behind.
    const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
    await start(); // creates the directory
    await servers.pop()!.close();
    spawnSync(process.execPath, ['-e', script]);
    expect((await lstat(path)).isSocket()).toBe(true);
    await start();
    expect((await exchange('get=1\n\n')).data).toBe('listen_port=1\nerrno=0\n\n');
  });

  it('refuses to take over a live socket', async () => {
    await start();
    await expect(start()).rejects.toThrow(`${path} is in use: another process is serving this interface`);
    expect((await exchange('get=1\n\n')).data).toBe('listen_port=1\nerrno=0\n\n');
  });

  it('never removes a file that is not a socket', async () => {
    await start();
    await servers.pop()!.close();
    await writeFile(path, 'precious');
    await expect(start()).rejects.toThrow(`${path} exists and is not a socket; not replacing it`);
    expect(await readFile(path, 'utf8')).toBe('precious');
  });

  it('removes the socket file on close', async () => {
    const server = await start();
    await server.close();
    servers.pop();
    expect(existsSync(path)).toBe(false);
  });
});

describe('uapiSocketPath', () => {
  it('is where wg looks', () => {
    expect(uapiSocketPath('wg0')).toBe('/var/run/wireguard/wg0.sock');
  });

  it.each(['', 'a'.repeat(16), '../x', '..', 'a b'])('refuses %j', (name) => {
    expect(() => uapiSocketPath(name)).toThrow(`invalid interface name ${JSON.stringify(name)}`);
  });
});
