import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Event, Prefs, Status } from '../../src/localapi/api.js';
import { LocalApiCallError, LocalApiClient } from '../../src/localapi/client.js';
import { DEFAULT_PREFS } from '../../src/localapi/defaults.js';
import { endlessUpload } from '../../test/support/endless-upload.js';
import { isRoot } from '../../test/support/netns.js';
import { type Handlers, LocalApiError, startLocalApi } from './server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PREFS: Prefs = { ...DEFAULT_PREFS };

const STATUS: Status = {
  version: 'test',
  backendState: 'stopped',
  authUrl: null,
  self: null,
  peers: [],
  shieldsUp: false,
  exitNode: null,
  controlConnected: false,
  relays: [],
  health: [],
};

/** A LocalAPI with a backend that keeps prefs in memory: the server's own checks are under test. */
async function serve() {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-localapi-'));
  chmodSync(dir, 0o755); // another uid must reach the socket
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = join(dir, 'burrowd.sock');
  let prefs = { ...PREFS };
  const listeners = new Set<(e: Event) => void>();
  const unexpected = () => {
    throw new LocalApiError(501, 'not in this test');
  };
  const handlers: Handlers = {
    status: () => ({ ...STATUS, shieldsUp: prefs.shieldsUp }),
    peers: () => [],
    getPrefs: () => prefs,
    setPrefs: (patch) => {
      if (patch.exitNode) throw new LocalApiError(404, `no peer "${patch.exitNode}"`);
      prefs = { ...prefs, ...(patch as Partial<Prefs>) };
      for (const l of listeners) l({ type: 'netmap', status: { ...STATUS, shieldsUp: prefs.shieldsUp } });
      return prefs;
    },
    up: unexpected,
    down: unexpected,
    login: unexpected,
    logout: unexpected,
    ping: unexpected,
    listShares: unexpected,
    createShare: unexpected,
    acceptShare: unexpected,
    declineShare: unexpected,
    revokeShare: unexpected,
    listExitNodes: () => [],
    dnsStatus: unexpected,
    dnsQuery: unexpected,
    trace: unexpected,
  };
  const server = await startLocalApi({
    socketPath,
    operatorUid: null,
    handlers,
    subscribe: (send) => {
      send({ type: 'state', backendState: 'stopped', authUrl: null });
      listeners.add(send);
      return () => listeners.delete(send);
    },
  });
  cleanups.push(() => server.close());
  return { socketPath, client: new LocalApiClient(socketPath) };
}

/** A raw request, for what the typed client would never send. */
function raw(
  socketPath: string,
  method: string,
  path: string,
  body = '',
  headers: Record<string, string> = {},
) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ socketPath, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('LocalAPI', () => {
  it('serves typed calls and an event stream', async () => {
    const { client } = await serve();
    expect((await client.call('status', {})).backendState).toBe('stopped');
    const events: Event[] = [];
    const stop = client.events(
      (e) => events.push(e),
      () => undefined,
    );
    cleanups.push(stop);
    await new Promise((r) => setTimeout(r, 100));
    expect((await client.call('setPrefs', { shieldsUp: true })).shieldsUp).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(events.map((e) => e.type)).toEqual(['state', 'netmap']);
    expect(events[1]).toMatchObject({ status: { shieldsUp: true } });
  });

  it.each([
    ['bad JSON', 'PATCH', '/localapi/v1/prefs', '{"shieldsUp": ', {}, 400, /not valid JSON/],
    [
      'a wrong type',
      'PATCH',
      '/localapi/v1/prefs',
      '{"shieldsUp": "yes"}',
      {},
      400,
      /request\.shieldsUp: expected true or false/,
    ],
    [
      'an unknown field',
      'PATCH',
      '/localapi/v1/prefs',
      '{"shieldsUP": true}',
      {},
      400,
      /request\.shieldsUP: unknown field/,
    ],
    [
      'an oversize body',
      'PATCH',
      '/localapi/v1/prefs',
      `{"hostname": "${'a'.repeat(70_000)}"}`,
      {},
      413,
      /over 65536/,
    ],
    [
      'an unknown operation',
      'POST',
      '/localapi/v1/reboot',
      '{}',
      {},
      404,
      /unknown operation POST \/localapi\/v1\/reboot/,
    ],
    ['a wrong method', 'POST', '/localapi/v1/status', '{}', {}, 405, /takes GET/],
    [
      'a browser request',
      'GET',
      '/localapi/v1/status',
      '',
      { origin: 'http://evil.example' },
      403,
      /web pages/,
    ],
    [
      'a request with a Referer',
      'GET',
      '/localapi/v1/status',
      '',
      { referer: 'http://evil.example/' },
      403,
      /web pages/,
    ],
  ])(
    'refuses %s with a clear error and keeps serving',
    async (_what, method, path, body, headers, status, message) => {
      const { socketPath, client } = await serve();
      const res = await raw(socketPath, method, path, body, headers);
      expect(res.status).toBe(status);
      expect(JSON.parse(res.body).error).toMatch(message);
      expect((await client.call('getPrefs', {})).shieldsUp).toBe(false); // nothing half-applied
    },
  );

  it('answers an endless chunked body with 413, stops reading it and closes the connection', async () => {
    const { socketPath, client } = await serve();
    const res = await endlessUpload(socketPath, 'PATCH', '/localapi/v1/prefs');
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toMatch(/request body over 65536 bytes/);
    expect(res.sent).toBeLessThan(16 * 1024 * 1024); // it hung up, rather than swallow the upload
    expect((await client.call('getPrefs', {})).shieldsUp).toBe(false);
  });

  it("passes a handler's refusal on with its status", async () => {
    const { client } = await serve();
    const error = await client.call('setPrefs', { exitNode: 'ghost' }).catch((e) => e);
    expect(error).toBeInstanceOf(LocalApiCallError);
    expect(error).toMatchObject({ status: 404, message: 'no peer "ghost"' });
  });

  it('says burrowd is not running when the socket is missing', async () => {
    const client = new LocalApiClient('/nonexistent/burrowd.sock');
    await expect(client.call('status', {})).rejects.toThrow(/burrowd is not running/);
  });

  it.skipIf(!isRoot())('lets another uid read but not change anything (peer credentials)', async () => {
    const { socketPath } = await serve();
    const script = `
      const http = require('node:http');
      const call = (method, path, body) => new Promise((resolve) => {
        const req = http.request({ socketPath: ${JSON.stringify(socketPath)}, method, path }, (res) => {
          let t = ''; res.on('data', (c) => (t += c)); res.on('end', () => resolve(res.statusCode + ' ' + t));
        });
        req.end(body);
      });
      (async () => {
        console.log(await call('GET', '/localapi/v1/status', ''));
        console.log(await call('PATCH', '/localapi/v1/prefs', '{"shieldsUp": true}'));
      })();`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      uid: 65534,
      gid: 65534,
    });
    const [read, change] = stdout.trim().split('\n');
    expect(read).toMatch(/^200 /);
    expect(change).toMatch(/^403 .*setPrefs changes burrowd: only root or the operator user/);
  });
});
