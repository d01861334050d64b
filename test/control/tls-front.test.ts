/**
 * burrow-server behind a TLS reverse proxy, as the README sets it up: devices use an https:// server
 * URL. The proxy here is a real TLS terminator (node:tls with a throwaway certificate made by
 * openssl) in front of the real server process; the device is the real ControlClient, trusting
 * that certificate as it would a public one.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { globalAgent } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { afterTest, device, runCleanups, waitFor } from '../support/control-lab.js';
import { controlKey } from '../support/raw-control.js';
import { serverProcess } from '../support/server-process.js';

afterEach(runCleanups);

// The first start may compile the server; do it once, outside the timed test.
beforeAll(async () => {
  await serverProcess();
  await runCleanups();
}, 180_000);

/** A TLS front for `backend` (http://127.0.0.1:PORT) on localhost; resolves with its https:// URL. */
async function tlsFront(backend: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-tls-'));
  afterTest(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(join(dir, 'cert.pem'));
  // The device trusts this certificate as it would a public CA's: through Node's default agent.
  const before = globalAgent.options.ca;
  globalAgent.options.ca = cert;
  afterTest(() => {
    globalAgent.options.ca = before;
  });
  const { port } = new URL(backend);
  const front = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (tls) => {
    const plain = connect(Number(port), '127.0.0.1');
    tls.pipe(plain).pipe(tls);
    tls.on('error', () => plain.destroy());
    plain.on('error', () => tls.destroy());
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  afterTest(() => new Promise<void>((r) => front.close(() => r())));
  return `https://localhost:${(front.address() as { port: number }).port}`;
}

describe('a server behind TLS', () => {
  it('registers a device and streams its map over an https:// server URL', async () => {
    const server = await serverProcess();
    const alice = await server.store.createUser({ name: 'alice' }, Date.now());
    const authKey = (await server.store.createAuthKey({ userId: alice.id }, Date.now())).secret;
    const url = await tlsFront(server.url);
    const serverPublicKey = Buffer.from(await controlKey(server.url)).toString('base64');
    const laptop = device(url, { hostname: 'laptop', authKey, serverPublicKey });
    laptop.client.start();
    const map = await waitFor('the map over TLS', () => laptop.client.netmap, 20_000);
    expect(map.self.name).toBe('laptop');
  });
});
