/**
 * Admin API keys against the real burrow-server process: a key made by `apikeys create --network`
 * sees and changes its own network only, answers about any other network exactly as about
 * something that does not exist, and stops working when it expires.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { identity } from '../../server/store/testing.js';
import { runCleanups, sleep } from '../support/control-lab.js';
import { serverProcess } from '../support/server-process.js';

afterEach(runCleanups);

// The first start may compile the server; do it once, outside the timed tests.
beforeAll(async () => {
  await serverProcess();
  await runCleanups();
}, 180_000);

/** Networks a and b, each with a user and a device; the admin CLI; and a key for network a. */
async function twoNetworks() {
  const server = await serverProcess();
  const cli = async (...argv: string[]) => {
    const r = await server.cli(...argv);
    expect(r, argv.join(' ')).toMatchObject({ code: 0 });
    return r.stdout.trim();
  };
  await cli('users', 'create', 'ana', '--network', 'a');
  await cli('users', 'create', 'bo', '--network', 'b');
  const { store } = server;
  const device = async (user: string, hostname: string) => {
    const d = await store.registerDevice(
      { ...identity(hostname), userId: (await store.findUserByName(user))!.id },
      Date.now(),
    );
    return await store.setAdvertisedRoutes(d.id, { routes: ['10.9.0.0/24'], exitNode: false }, Date.now());
  };
  const laptop = await device('ana', 'laptop');
  const bServer = await device('bo', 'server');
  const key = await cli('apikeys', 'create', '--network', 'a');
  /** A request with `auth` (default: the key of network a); its status and JSON body. */
  const api = async (path: string, init: RequestInit = {}, auth = key) => {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  return { ...server, cli, rawCli: server.cli, api, key, laptop, bServer };
}

/** The answer with `ref` (an id or a name) written as REF: what the caller learns beyond what it sent. */
const seen = (answer: { status: number; body: unknown }, ref: string) => ({
  status: answer.status,
  body: JSON.parse(JSON.stringify(answer.body).replaceAll(JSON.stringify(ref).slice(1, -1), 'REF')),
});

describe('an admin API key for one network', () => {
  it('lists and changes its own network only, and answers for another network as for nothing', async () => {
    const d = await twoNetworks();
    const names = (answer: { body: unknown }) => (answer.body as { name: string }[]).map((x) => x.name);
    expect(names(await d.api('/devices'))).toEqual(['laptop']);
    expect(names(await d.api('/users'))).toEqual(['ana']);
    const bBefore = await d.store.getDevice(d.bServer.id);
    const missing = randomBytes(12).toString('base64url');

    // Each request about network b's device, and the same about an id that never existed.
    const aboutDevice: [string, string, RequestInit][] = [
      ['rename', '', { method: 'PATCH', body: '{"name": "mine-now"}' }],
      ['delete', '', { method: 'DELETE' }],
      [
        'approve routes',
        '/routes',
        { method: 'POST', body: '{"routes": ["10.9.0.0/24"], "exitNode": true}' },
      ],
    ];
    for (const [what, suffix, init] of aboutDevice) {
      const other = await d.api(`/devices/${d.bServer.id}${suffix}`, init);
      expect(other.status, what).toBe(404);
      expect(seen(other, d.bServer.id), what).toEqual(
        seen(await d.api(`/devices/${missing}${suffix}`, init), missing),
      );
    }
    expect(await d.store.getDevice(d.bServer.id)).toEqual(bBefore);

    // Network b's policy, by name, as a network that does not exist.
    const policy = '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}';
    for (const init of [{}, { method: 'PUT', body: policy }]) {
      const other = await d.api('/policy?network=b', init);
      expect(other.status).toBe(404);
      expect(seen(other, '"b"')).toEqual(seen(await d.api('/policy?network=nowhere', init), '"nowhere"'));
    }
    const bNetwork = (await d.store.findNetworkByName('b'))!;
    expect(await d.store.getPolicy(bNetwork.id)).toBeNull();

    // Auth keys for b's user, and users in b, as for a user and a network that do not exist.
    const authKey = (user: string) => d.api('/authkeys', { method: 'POST', body: JSON.stringify({ user }) });
    const bos = await authKey('bo');
    expect(bos.status).toBe(404);
    expect(seen(bos, '"bo"')).toEqual(seen(await authKey('nobody'), '"nobody"'));
    expect(await d.store.listAuthKeys((await d.store.findUserByName('bo'))!.id)).toEqual([]);
    const userIn = (network: string) =>
      d.api('/users', { method: 'POST', body: JSON.stringify({ name: 'mallory', network }) });
    expect(seen(await userIn('b'), '"b"')).toEqual(seen(await userIn('nowhere'), '"nowhere"'));
    expect(await d.store.findUserByName('mallory')).toBeNull();

    // Its own network it does change.
    expect((await d.api(`/devices/${d.laptop.id}/routes`, aboutDevice[2]![2])).status).toBe(200);
    expect(await d.store.getDevice(d.laptop.id)).toMatchObject({
      approvedRoutes: ['10.9.0.0/24'],
      exitNodeApproved: true,
    });
    expect((await authKey('ana')).status).toBe(201);
    expect((await d.api('/policy', { method: 'PUT', body: policy })).status).toBe(200);
    expect((await d.api(`/devices/${d.laptop.id}`, { method: 'DELETE' })).status).toBe(200);
  }, 60_000);

  it('is refused once expired; created only for a named network, never without expiry', async () => {
    const d = await twoNetworks();
    const short = await d.cli('apikeys', 'create', '--network', 'a', '--expiry', '1s');
    expect((await d.api('/devices', {}, short)).status).toBe(200);
    await sleep(1100);
    expect(await d.api('/devices', {}, short)).toEqual({
      status: 401,
      body: { error: expect.stringMatching(/^API key [0-9a-f]{12} has expired$/), code: 'api-key-expired' },
    });
    const keys = JSON.parse(await d.cli('apikeys', 'list', '--json')) as {
      network: string;
      expiresAt: number;
    }[];
    expect(keys.map((k) => k.network)).toEqual(['a', 'a']);
    expect(Math.max(...keys.map((k) => k.expiresAt)) - Date.now()).toBeGreaterThan(89 * 86_400_000); // 90 days by default

    for (const [argv, message] of [
      [[], /usage: burrow-server apikeys create --network NET/],
      [['--network', 'nowhere'], /no network "nowhere"/],
      [['--network', 'a', '--expiry', 'never'], /API keys always expire/],
    ] as const) {
      const r = await d.rawCli('apikeys', 'create', ...argv);
      expect(r).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(message);
    }
    expect(await d.store.listApiKeys()).toHaveLength(2);
  }, 60_000);
});
