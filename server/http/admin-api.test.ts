import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { type RunningServer, startServer } from '../serve.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-api-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'burrow.db');
  const running: RunningServer = await startServer({ db, host: '127.0.0.1', port: 0, pollMs: 25 });
  cleanups.push(() => running.close());
  let key = '';
  main(['apikeys', 'create', '--expiry', '1d', '--db', db], { out: (t) => (key += t), err: () => undefined });
  const api = (path: string, init: RequestInit & { auth?: string | null } = {}) =>
    fetch(`${running.url}/api/v1${path}`, {
      ...init,
      headers: {
        ...(init.auth === null ? {} : { authorization: `Bearer ${init.auth ?? key.trim()}` }),
        ...(init.body && typeof init.body === 'string' && init.body.startsWith('{')
          ? { 'content-type': 'application/json' }
          : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
  return { api };
}

describe('admin HTTP API', () => {
  it('creates users and auth keys, lists them, and sets a policy whose tests pass', async () => {
    const { api } = await setup();
    const created = await api('/users', {
      method: 'POST',
      body: JSON.stringify({ name: 'alice', network: 'home', password: 'long enough' }),
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'alice', hasPassword: true });
    const key = await api('/authkeys', {
      method: 'POST',
      body: JSON.stringify({ user: 'alice', reusable: true, expiresInSeconds: 3600 }),
    });
    expect(key.status).toBe(201);
    expect((await key.json()) as { key: string }).toMatchObject({ key: expect.stringMatching(/^bkey-/) });
    expect(
      ((await (await api('/users')).json()) as { name: string; network: string }[]).map(
        (u) => `${u.name}@${u.network}`,
      ),
    ).toEqual(['alice@home']);
    const policy =
      '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}], "tests": [{"src": "alice", "accept": ["alice:22"]}]}';
    expect((await api('/policy?network=home', { method: 'PUT', body: policy })).status).toBe(200);
    expect(await (await api('/policy?network=home')).json()).toEqual({ network: 'home', policy });
  });

  it.each([
    ['no key', '/devices', { auth: null }, 401, /missing Authorization/],
    ['a wrong key', '/devices', { auth: 'bapi-nope-nope' }, 401, /./],
    ['a browser origin', '/devices', { headers: { origin: 'https://evil.example' } }, 403, /cross-origin/],
    ['an unknown route', '/nope', {}, 404, /no GET \/api\/v1\/nope/],
    ['malformed JSON', '/users', { method: 'POST', body: '{"name": ' }, 400, /not valid JSON/],
    [
      'an unknown field',
      '/users',
      { method: 'POST', body: '{"name": "x", "admin": true}' },
      400,
      /body\.admin: unknown field/,
    ],
    [
      'a short password',
      '/users',
      { method: 'POST', body: '{"name": "x", "password": "short"}' },
      400,
      /body\.password: must be at least 8/,
    ],
    [
      'an oversize body',
      '/users',
      { method: 'POST', body: `{"name": "${'x'.repeat(70_000)}"}` },
      413,
      /over 65536 bytes/,
    ],
    [
      'an unknown device',
      '/devices/nope/routes',
      { method: 'POST', body: '{"routes": [], "exitNode": false}' },
      404,
      /./,
    ],
    ['a bad policy', '/policy', { method: 'PUT', body: '{"acl": []}' }, 400, /unknown section/],
    ['a rename without a name', '/devices/nope', { method: 'PATCH', body: '{}' }, 400, /body\.name/],
    ['a rename of an unknown device', '/devices/nope', { method: 'PATCH', body: '{"name": "x"}' }, 404, /./],
  ])('refuses %s with a clear error', async (_what, path, init, status, message) => {
    const { api } = await setup();
    await api('/users', { method: 'POST', body: '{"name": "alice", "network": "home"}' });
    const res = await api(path, init as RequestInit & { auth?: string | null });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });
});
