import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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
  const cli = async (...argv: string[]) => {
    let out = '';
    expect(await main([...argv, '--db', db], { out: (t) => (out += t), err: () => undefined })).toBe(0);
    return out.trim();
  };
  // Alice in network home, and a key for home.
  await cli('users', 'create', 'alice', '--network', 'home');
  const key = await cli('apikeys', 'create', '--network', 'home', '--expiry', '1d');
  const api = (path: string, init: RequestInit & { auth?: string | null } = {}) =>
    fetch(`${running.url}/api/v1${path}`, {
      ...init,
      headers: {
        ...(init.auth === null ? {} : { authorization: `Bearer ${init.auth ?? key}` }),
        ...(init.body && typeof init.body === 'string' && init.body.startsWith('{')
          ? { 'content-type': 'application/json' }
          : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
  return { api, cli, db };
}

describe('admin HTTP API', () => {
  it("creates users and auth keys in its key's network, lists them, and sets a policy whose tests pass", async () => {
    const { api } = await setup();
    const created = await api('/users', {
      method: 'POST',
      body: JSON.stringify({ name: 'bob', network: 'home', password: 'long enough' }),
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'bob', hasPassword: true });
    // Without a network, a user joins the key's network.
    expect((await api('/users', { method: 'POST', body: '{"name": "cy"}' })).status).toBe(201);
    const key = await api('/authkeys', {
      method: 'POST',
      body: JSON.stringify({ user: 'bob', reusable: true, expiresInSeconds: 3600 }),
    });
    expect(key.status).toBe(201);
    expect((await key.json()) as { key: string }).toMatchObject({ key: expect.stringMatching(/^bkey-/) });
    expect(
      ((await (await api('/users')).json()) as { name: string; network: string }[])
        .map((u) => `${u.name}@${u.network}`)
        .sort(),
    ).toEqual(['alice@home', 'bob@home', 'cy@home']);
    const policy =
      '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}], "tests": [{"src": "bob", "accept": ["bob:22"]}]}';
    expect((await api('/policy?network=home', { method: 'PUT', body: policy })).status).toBe(200);
    expect(await (await api('/policy')).json()).toEqual({ network: 'home', policy });
  });

  it("reads and replaces its network's DNS settings whole; a bad one is refused and changes nothing", async () => {
    const { api, cli } = await setup();
    const settings = {
      nameservers: ['10.1.0.53'],
      routes: [{ domain: 'Corp.Example', servers: ['10.1.0.53:5353'] }],
      searchDomains: ['corp.example'],
      override: true,
    };
    const put = await api('/dns?network=home', { method: 'PUT', body: JSON.stringify(settings) });
    expect(put.status).toBe(200);
    const shown = await put.json();
    expect(shown).toMatchObject({
      network: 'home',
      baseDomain: 'burrow.internal',
      resolver: { ipv4: '100.100.100.100', ipv6: expect.stringMatching(/::53$/) },
      nameservers: ['10.1.0.53'],
      routes: [{ domain: 'corp.example', servers: ['10.1.0.53:5353'] }],
      searchDomains: ['home.burrow.internal', 'corp.example'],
      override: true,
    });
    expect(await (await api('/dns')).json()).toEqual(shown);
    expect(JSON.parse(await cli('dns', 'show', '--json'))).toEqual(shown); // the CLI sees the same
    const bad = await api('/dns', {
      method: 'PUT',
      body: JSON.stringify({ ...settings, nameservers: ['100.100.100.100'] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /^nameservers\[0\]: 100\.100\.100\.100 is the device's own Burrow resolver/,
    );
    const partial = await api('/dns', { method: 'PUT', body: '{"nameservers": []}' });
    expect(partial.status).toBe(400);
    expect(((await partial.json()) as { error: string }).error).toMatch(/body\.routes: is required/);
    expect(await (await api('/dns')).json()).toEqual(shown);
    expect((await api('/dns?network=elsewhere')).status).toBe(404);
  });

  it('lets a key from before keys had networks reach every network until it expires', async () => {
    const { api, cli, db } = await setup();
    await cli('users', 'create', 'bob', '--network', 'work');
    const legacy = await cli('apikeys', 'create', '--network', 'work');
    const sqlite = new Database(db);
    sqlite.prepare('UPDATE api_keys SET network_id = NULL WHERE prefix = ?').run(legacy.split('-')[1]);
    sqlite.close();
    const names = async (auth: string) =>
      ((await (await api('/users', { auth })).json()) as { name: string }[]).map((u) => u.name).sort();
    expect(await names(legacy)).toEqual(['alice', 'bob']);
    expect(await cli('apikeys', 'list')).toMatch(/\(every network\)/);
    const created = await api('/users', {
      auth: legacy,
      method: 'POST',
      body: '{"name": "dan", "network": "lab"}',
    });
    expect(created.status).toBe(201);
    // A key of home sees none of it.
    expect(await (await api('/users')).json()).toEqual([expect.objectContaining({ name: 'alice' })]);
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
    [
      'a user in a network the key does not reach',
      '/users',
      { method: 'POST', body: '{"name": "x", "network": "elsewhere"}' },
      404,
      /^no network "elsewhere"$/,
    ],
    ['a rename without a name', '/devices/nope', { method: 'PATCH', body: '{}' }, 400, /body\.name/],
    ['a rename of an unknown device', '/devices/nope', { method: 'PATCH', body: '{"name": "x"}' }, 404, /./],
  ])('refuses %s with a clear error', async (_what, path, init, status, message) => {
    const { api } = await setup();
    const res = await api(path, init as RequestInit & { auth?: string | null });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });
});
