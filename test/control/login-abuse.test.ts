/**
 * The sign-in page of interactive logins against the real burrow-server process, as a phisher and a
 * password guesser would use it: what the page says about who asked, how guessing is slowed per
 * address and per user name, and that guessing does not stall everyone else.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCleanups } from '../support/control-lab.js';
import { controlKey, http, isRegisterResult, rawChannel, signIn } from '../support/raw-control.js';
import { serverProcess } from '../support/server-process.js';

afterEach(runCleanups);

// The first start may compile the server; do it once, outside the timed tests.
beforeAll(async () => {
  await serverProcess();
  await runCleanups();
}, 180_000);

/** A server with user alice (password "correct horse"), and a device asking for a login link. */
async function loginLink() {
  const server = await serverProcess();
  await server.store.createUser({ name: 'alice', password: 'correct horse' }, Date.now());
  const device = await rawChannel(server.url, await controlKey(server.url));
  const asked = Date.now();
  device.register('laptop');
  const result = await device.next(isRegisterResult);
  const link = (result as { url: string }).url;
  return { server, device, link, asked };
}

describe('the sign-in page', () => {
  it('says where and when the request came from and which machine asked, and warns against links from others', async () => {
    const { link, device, asked } = await loginLink();
    const page = await http(link);
    expect(page.status).toBe(200);
    const text = page.body.replace(/<[^>]+>/g, '');
    expect(text).toContain('Add laptop to your network?');
    expect(text).toMatch(/requested from 127\.0\.0\.1 at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    const fingerprint = device.machineKey.slice(0, 12).replace(/(.{4})(?=.)/g, '$1 ');
    expect(text).toContain(`a machine whose key starts ${fingerprint}`);
    expect(text).toContain('Continue only if you just ran burrow up on that device yourself');
    // The link lasts ten minutes.
    const expires = /It expires at (\d{4}-\d\d-\d\d \d\d:\d\d) UTC/.exec(text)![1]!;
    const lifetime = Date.parse(`${expires.replace(' ', 'T')}:00Z`) - asked;
    expect(lifetime).toBeGreaterThan(9 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(10 * 60_000);
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('makes an address wait after 5 wrong passwords, the right one included, with 429 and Retry-After', async () => {
    const { link } = await loginLink();
    for (let i = 0; i < 5; i++) expect((await signIn(link, 'alice', `guess ${i}`)).status).toBe(401);
    const refused = await signIn(link, 'alice', 'guess 5');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.body).toContain('Too many sign-in attempts');
    expect((await signIn(link, 'alice', 'correct horse')).status).toBe(429);
    // Another address is not held up by this one's guesses, and signs in.
    expect((await signIn(link, 'alice', 'correct horse', '127.0.0.77')).status).toBe(200);
  });

  it('counts each client behind a reverse proxy on this host by its X-Forwarded-For address', async () => {
    const { link } = await loginLink();
    const via = (client: string, password: string) =>
      http(link, {
        method: 'POST',
        body: new URLSearchParams({ name: 'alice', password }).toString(),
        headers: { 'x-forwarded-for': client },
      });
    for (let i = 0; i < 5; i++) expect((await via('203.0.113.1', `guess ${i}`)).status).toBe(401);
    expect((await via('203.0.113.1', 'guess 5')).status).toBe(429);
    // The proxy's other clients are not held up by that one.
    expect((await via('203.0.113.2', 'correct horse')).status).toBe(200);
  });

  it('makes a user name wait after 10 wrong passwords, from however many addresses', async () => {
    const { link } = await loginLink();
    for (let i = 1; i <= 10; i++) {
      expect((await signIn(link, 'alice', `guess ${i}`, `127.0.1.${i}`)).status).toBe(401);
    }
    const refused = await signIn(link, 'Alice', 'correct horse', '127.0.1.11');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Other names are not held up.
    expect((await signIn(link, 'bob', 'whatever else', '127.0.1.12')).status).toBe(401);
  });

  it('keeps /health fast while a crowd of addresses guesses at once', async () => {
    const { server, link } = await loginLink();
    const guesses = Array.from({ length: 60 }, (_, i) =>
      signIn(link, `user${i}`, 'wrong password', `127.0.2.${i + 1}`),
    );
    const latencies: number[] = [];
    let done = false;
    void Promise.all(guesses).then(() => {
      done = true;
    });
    while (!done) {
      const started = performance.now();
      await fetch(`${server.url}/health`);
      latencies.push(performance.now() - started);
    }
    const answers = await Promise.all(guesses);
    // At most 2 hashes run and 16 wait; the rest are told at once to come back.
    expect(answers.filter((a) => a.status === 503).length).toBeGreaterThanOrEqual(30);
    expect(answers.every((a) => a.status === 401 || a.status === 503)).toBe(true);
    latencies.sort((a, b) => a - b);
    expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(100);
  });
});
