import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SHARES, STATUS, startTestLocalApi } from '../test/support/memory-localapi.js';
import { waitFor } from '../test/support/netns.js';
import { createBroker } from './broker.js';
import { CSP } from './csp.js';
import { startWebServer, type WebServer, type WebServerOptions, webPlatform } from './web-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A built UI in a temporary directory. */
function distDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-dist-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script src="app.js"></script>');
  writeFileSync(join(dir, 'app.js'), 'console.log("burrow")');
  writeFileSync(join(dir, 'app.css'), 'body { margin: 0 }');
  mkdirSync(join(dir, 'icons'));
  writeFileSync(join(dir, 'icons', 'logo.svg'), '<svg/>');
  return dir;
}

async function setup(options: Partial<WebServerOptions> = {}) {
  const api = await startTestLocalApi();
  cleanups.push(() => api.dispose());
  const broker = createBroker({ socketPath: api.socketPath, platform: webPlatform, installedPaths: [] });
  cleanups.push(() => broker.close());
  const web = await startWebServer({ broker, staticRoot: distDir(), ...options });
  cleanups.push(() => web.close());
  return { api, web };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request, so that tests can send any Host and Origin. */
function http(
  web: WebServer,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: web.port,
        method,
        path,
        headers: { host: `127.0.0.1:${web.port}`, ...options.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const callApi = (web: WebServer, name: string, body = '{}', headers: Record<string, string> = {}) =>
  http(web, 'POST', `/api/call/${name}`, {
    body,
    headers: { authorization: `Bearer ${web.token}`, 'content-type': 'application/json', ...headers },
  });

describe('web mode', () => {
  it('prints a URL with the token in the fragment', async () => {
    const { web } = await setup();
    expect(web.url).toBe(`http://127.0.0.1:${web.port}/#token=${web.token}`);
    expect(web.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('serves the built UI with a strict CSP', async () => {
    const { web } = await setup();
    for (const [path, type] of [
      ['/', 'text/html; charset=utf-8'],
      ['/index.html', 'text/html; charset=utf-8'],
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/app.css', 'text/css; charset=utf-8'],
      ['/icons/logo.svg', 'image/svg+xml'],
    ] as const) {
      const res = await http(web, 'GET', path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type']).toBe(type);
      expect(res.headers['content-security-policy']).toBe(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
          "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      );
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await http(web, 'GET', '/app.js')).body).toBe('console.log("burrow")');
    expect((await http(web, 'HEAD', '/app.js')).body).toBe('');
    expect((await http(web, 'GET', '/missing.js')).status).toBe(404);
    expect((await http(web, 'GET', '/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
    expect((await http(web, 'GET', '/..%2f..%2fetc%2fpasswd')).status).toBe(404);
    expect((await http(web, 'POST', '/index.html')).status).toBe(405);
  });

  it('answers 503 with what to do when the UI is not built', async () => {
    const { web } = await setup({ staticRoot: join(tmpdir(), 'burrow-no-such-dist') });
    const res = await http(web, 'GET', '/');
    expect(res.status).toBe(503);
    expect(res.body).toMatch(/run `npm run build:ui`/);
    expect(res.headers['content-security-policy']).toBe(CSP);
  });

  it('passes calls through to burrowd', async () => {
    const { web } = await setup();
    const res = await callApi(web, 'status');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual(STATUS);
    expect(JSON.parse((await callApi(web, 'setPrefs', '{"shieldsUp":true}')).body)).toMatchObject({
      shieldsUp: true,
    });
    // An empty body is the empty request.
    expect(JSON.parse((await callApi(web, 'listShares', '')).body)).toEqual(SHARES);
    // In web mode the page itself copies and opens links: the server only says yes.
    expect(await callApi(web, 'copyText', '{"text":"100.64.0.2"}')).toMatchObject({
      status: 200,
      body: '{}',
    });
  });

  it.each([
    ['no token', {}, ''],
    ['a wrong token', { authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, ''],
    ['a token of another length', { authorization: 'Bearer x' }, ''],
    ['a token without "Bearer"', {}, 'token'],
  ])('refuses a call with %s (401)', async (_what, headers, form) => {
    const { api, web } = await setup();
    const auth = form === 'token' ? { authorization: web.token } : headers;
    const res = await http(web, 'POST', '/api/call/status', { body: '{}', headers: auth });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toEqual({
      error: 'a valid token is required (Authorization: Bearer TOKEN)',
      status: 401,
    });
    expect(api.calls.filter((c) => c !== 'events')).toEqual([]);
  });

  it.each([
    ['an unknown call', 'reboot', '{}', {}, 404, 'unknown call "reboot"'],
    ['bad JSON', 'setPrefs', '{"shieldsUp": ', {}, 400, /^request: not valid JSON/],
    [
      'a request off the schema',
      'setPrefs',
      '{"shieldsUp":"yes"}',
      {},
      400,
      /request\.shieldsUp: expected true/,
    ],
    [
      'an oversize body',
      'setPrefs',
      `{"hostname":"${'a'.repeat(70_000)}"}`,
      {},
      413,
      'request: over 65536 bytes',
    ],
    ["burrowd's refusal", 'setPrefs', '{"exitNode":"ghost"}', {}, 404, 'no peer "ghost"'],
    [
      'a foreign Origin',
      'status',
      '{}',
      { origin: 'http://evil.example' },
      403,
      /Origin "http:\/\/evil\.example"/,
    ],
    ['a rebound Host', 'status', '{}', { host: 'evil.example:80' }, 403, /Host "evil\.example:80" is not/],
  ])('refuses %s with { error, status }', async (_what, name, body, headers, status, error) => {
    const { web } = await setup();
    const res = await callApi(web, name, body, headers);
    expect(res.status).toBe(status);
    const answer = JSON.parse(res.body);
    expect(answer.status).toBe(status);
    expect(answer.error).toMatch(error);
  });

  it('accepts its own origin under either name, and GET is not a call', async () => {
    const { web } = await setup();
    const host = `localhost:${web.port}`;
    expect((await callApi(web, 'status', '{}', { host, origin: `http://${host}` })).status).toBe(200);
    expect((await callApi(web, 'status', '{}', { origin: `http://127.0.0.1:${web.port}` })).status).toBe(200);
    // Host localhost with Origin 127.0.0.1 are different origins.
    expect(
      (await callApi(web, 'status', '{}', { host, origin: `http://127.0.0.1:${web.port}` })).status,
    ).toBe(403);
    expect((await http(web, 'GET', '/api/call/status')).status).toBe(405);
    expect((await http(web, 'GET', '/', { headers: { host: 'burrow.evil.example' } })).status).toBe(403);
  });

  it('answers 503 with status 0 when burrowd is unreachable', async () => {
    const { api, web } = await setup();
    await api.stop();
    const res = await callApi(web, 'status');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ error: `no LocalAPI at ${api.socketPath}`, status: 0 });
  });

  it("streams burrowd's events as Server-Sent Events, with pings", async () => {
    const { web } = await setup({ pingMs: 50 });
    expect((await http(web, 'GET', '/api/events')).status).toBe(401);
    expect((await http(web, 'GET', '/api/events?token=wrong')).status).toBe(401);

    let text = '';
    let headers: Answer['headers'] = {};
    const req = request(
      {
        host: '127.0.0.1',
        port: web.port,
        path: `/api/events?token=${web.token}`,
        headers: { host: `127.0.0.1:${web.port}` },
      },
      (res) => {
        headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
      },
    );
    req.on('error', () => undefined); // closing the server ends it
    req.end();
    cleanups.push(() => req.destroy());
    await waitFor('the first event', async () => text.includes('data: '), 5000, 10);
    expect(headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(text).toContain(
      `data: ${JSON.stringify({ type: 'state', backendState: 'running', authUrl: null })}\n\n`,
    );
    await callApi(web, 'setPrefs', '{"shieldsUp":true}');
    await waitFor('the netmap', async () => text.includes('"type":"netmap"'), 5000, 10);
    await waitFor('a ping', async () => text.includes(': ping\n\n'), 5000, 10);
    const netmap = text.split('\n\n').find((block) => block.includes('"type":"netmap"'))!;
    expect(JSON.parse(netmap.slice('data: '.length))).toMatchObject({ status: { shieldsUp: true } });
  });
});
