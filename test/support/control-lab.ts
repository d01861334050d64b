import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient, type ControlClientOptions, type ControlState } from '../../helper/control/client.js';
import { attachControl, type ServerChannel } from '../../server/control/listener.js';
import { startServer } from '../../server/serve.js';
import { openSqliteStore } from '../../server/store/sqlite-store.js';
import type { DeviceIdentity } from '../../server/store/store.js';
import type { ClientMessage, ServerMessage } from '../../src/control/messages.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import { keyPair, sleep, waitFor } from './polling.js';

/** The device's side of the control protocol, for burrow-server's tests. */
export { type ClientChannel, connectControl } from '../../helper/control/connect.js';
export { sleep, waitFor };

/**
 * Both sides of the control protocol, for tests: devices running burrowd's ControlClient against a
 * burrow-server on a temp SQLite file, a server the test scripts message by message, and the
 * client's side for the server's tests. Everything they start is stopped and removed after each
 * test (register `afterEach(runCleanups)` in the test file).
 */

const crypto = selectCrypto();
const cleanups: (() => Promise<void> | void)[] = [];

/** Undoes what the helpers below set up, newest first: run it after each test. */
export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

/** Runs `cleanup` after the current test, before what was set up earlier. */
export function afterTest(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

export const MIN_BACKOFF = 20;
export const MAX_BACKOFF = 200;
export const newKey = () => encodeKey(randomBytes(32));

/** What a device registering sends about itself, for writing devices straight into the store. */
export const identity = (hostname: string): DeviceIdentity => ({
  machineKey: newKey(),
  nodeKey: newKey(),
  discoKey: newKey(),
  hostname,
});

/** A device running a ControlClient, with everything it reported. */
export interface TestDevice {
  client: ControlClient;
  options: ControlClientOptions;
  endpoints: string[];
  states: ControlState[];
  seqs: number[];
  logs: string[];
}

export function device(
  serverUrl: string,
  extra: Partial<ControlClientOptions> & { hostname: string },
): TestDevice {
  const endpoints: string[] = [];
  const options: ControlClientOptions = {
    serverUrls: [serverUrl],
    machine: keyPair(),
    nodeKey: newKey(),
    discoKey: newKey(),
    endpoints: () => endpoints,
    crypto,
    random: randomBytes,
    now: Date.now,
    minBackoffMs: MIN_BACKOFF,
    maxBackoffMs: MAX_BACKOFF,
    ...extra,
  };
  return track(options, endpoints);
}

export function track(options: ControlClientOptions, endpoints: string[]): TestDevice {
  const d: TestDevice = {
    client: new ControlClient({ ...options, log: (m) => d.logs.push(m) }),
    options,
    endpoints,
    states: [],
    seqs: [],
    logs: [],
  };
  d.client.on('state', (s) => d.states.push(s));
  d.client.on('netmap', (_map, seq) => d.seqs.push(seq));
  cleanups.push(() => d.client.stop());
  return d;
}

/** A burrow-server database in a temp directory, with user alice, and a way to serve it. */
export async function serverFiles() {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-control-client-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'burrow.db');
  const store = openSqliteStore({ path: db });
  cleanups.push(() => store.close());
  const alice = await store.createUser({ name: 'alice', password: 'correct horse' }, Date.now());
  const authKey = async (reusable = false) =>
    (await store.createAuthKey({ userId: alice.id, reusable }, Date.now())).secret;
  const serve = async (port = 0) => {
    const running = await startServer({ db, host: '127.0.0.1', port, pollMs: 25 });
    let open = true;
    const close = async () => {
      if (open) await running.close();
      open = false;
    };
    cleanups.push(close);
    return { ...running, close };
  };
  return { store, authKey, serve };
}

/** A control server the test scripts message by message, for what burrow-server never sends. */
export async function scriptedServer() {
  const serverKey = keyPair();
  const http = createServer((_req, res) => res.writeHead(404).end());
  const sockets = new Set<Socket>();
  http.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const connections: { channel: ServerChannel; inbox: ClientMessage[] }[] = [];
  attachControl(http, { crypto, serverKey, random: randomBytes, now: Date.now }, ({ channel }) => {
    const c = { channel, inbox: [] as ClientMessage[] };
    connections.push(c);
    channel.onMessage((m) => c.inbox.push(m));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => http.close(r));
  });
  const { port } = http.address() as { port: number };
  /** Waits for connection `n` to send a message of `type`; returns it and the connection. */
  const next = async <T extends ClientMessage['type']>(n: number, type: T) => {
    const c = await waitFor(`connection ${n}`, () => connections[n]);
    const m = await waitFor(`${type} on connection ${n}`, () => c.inbox.find((x) => x.type === type));
    return {
      message: m as Extract<ClientMessage, { type: T }>,
      send: (s: ServerMessage) => c.channel.send(s),
      c,
    };
  };
  return { url: `http://127.0.0.1:${port}`, publicKey: encodeKey(serverKey.publicKey), next };
}
