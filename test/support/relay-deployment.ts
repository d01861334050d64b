/**
 * Real processes for the relay access tests: burrow-server serving a database in a temp directory
 * (optionally from a config file with a relay map), standalone `burrow-server relay` processes,
 * the admin CLI on the same database, and devices registered in the store with node keys whose
 * private halves the test holds, so they can connect to a relay through RelayClient. Everything is
 * stopped and removed by `cleanup` (register it with afterEach).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RelayClient } from '../../helper/relay/relay-client.js';
import { loadOrCreateServerKey } from '../../server/server-key.js';
import { openSqliteStore } from '../../server/store/sqlite-store.js';
import type { Device } from '../../server/store/types.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { decodeKey } from '../../src/wireguard/keys.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import { keyPair, sleep } from './polling.js';
import { freePort } from './ports.js';
import { BURROW_SERVER } from './programs.js';

export { keyPair, sleep };

const crypto = selectCrypto();
const run = promisify(execFile);
const b64 = (key: Uint8Array) => Buffer.from(key).toString('base64');
const cleanups: (() => Promise<unknown> | unknown)[] = [];

export async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

/** Polls `probe` (sync or async) until it returns something truthy. */
export async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A child process with its stderr collected; killed at cleanup. */
function child(args: string[]): { proc: ChildProcess; stderr: () => string } {
  const proc = spawn(BURROW_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  proc.stderr?.on('data', (d) => (said += d));
  cleanups.push(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  });
  return { proc, stderr: () => said };
}

/** A relay key file made before anything runs, so that the server's relay map can name its key. */
export function relayKeyFile(): { path: string; publicKey: string } {
  const path = join(tempDir('burrow-relay-key-'), 'relay.key');
  return { path, publicKey: b64(loadOrCreateServerKey(crypto, path).publicKey) };
}

export interface Deployment {
  url: string;
  db: string;
  /** The server's control key, as /control/key states it. */
  controlKey: string;
  /** The public key of the server's own relay. */
  relayPublicKey: Uint8Array;
  stderr(): string;
  /** Runs an admin command on the database as its own process; resolves with its stdout. */
  cli(...argv: string[]): Promise<string>;
  /** Registers a device in network "team" under `name`, with a node key the test holds. */
  register(name: string): Promise<{ node: StaticKeyPair; device: Device }>;
  /** Rotates a device's node key in the store (as a re-registration would); returns the new pair. */
  rotate(device: Device): Promise<StaticKeyPair>;
  /** The value of a /metrics line such as `burrow_relay_refused{reason="notAllowed"}`. */
  metric(line: string): Promise<number>;
}

/** burrow-server serving a fresh database; `relays` go in its config file's relay map. */
export async function deployment(relays: { id: number; url: string; publicKey: string }[] = []) {
  const dir = tempDir('burrow-relay-access-');
  const db = join(dir, 'burrow.db');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir, 'server.hujson');
  const regions = relays.map((r) => ({ ...r, name: `region-${r.id}` }));
  // No STUN: its default port, 3478, would be shared with every other test running here.
  writeFileSync(config, JSON.stringify({ db, listen: `127.0.0.1:${port}`, stunPort: 0, relays: regions }));
  const server = child(['serve', '--config', config]);
  const health = await waitFor(
    'burrow-server to answer',
    async () => {
      if (server.proc.exitCode !== null) throw new Error(`burrow-server exited: ${server.stderr()}`);
      return fetch(`${url}/control/key`).then(
        (r) => (r.ok ? (r.json() as Promise<{ publicKey: string }>) : null),
        () => null,
      );
    },
    120_000,
  );
  const store = openSqliteStore({ path: db });
  cleanups.push(() => store.close());
  const team = await store.createNetwork({ name: 'team' }, Date.now());
  const user = await store.createUser({ name: 'ana', networkId: team.id }, Date.now());
  const relayPrivate = decodeKey(readFileSync(`${db}.key.relay`, 'utf8').trim());
  const d: Deployment = {
    url,
    db,
    controlKey: health.publicKey,
    relayPublicKey: crypto.x25519PublicKey(relayPrivate),
    stderr: server.stderr,
    cli: async (...argv) => (await run(BURROW_SERVER, [...argv, '--db', db])).stdout.trim(),
    async register(name) {
      const node = keyPair();
      const device = await store.registerDevice(
        {
          userId: user.id,
          machineKey: b64(keyPair().publicKey),
          nodeKey: b64(node.publicKey),
          discoKey: b64(keyPair().publicKey),
          hostname: name,
        },
        Date.now(),
      );
      return { node, device };
    },
    async rotate(device) {
      const node = keyPair();
      await store.rotateNodeKey(device.id, b64(node.publicKey), Date.now());
      return node;
    },
    async metric(line) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const found = text.split('\n').find((l) => l.startsWith(`${line} `));
      return found === undefined ? 0 : Number(found.split(' ')[1]);
    },
  };
  return d;
}

/** `burrow-server relay` on a free port with `args` after --listen; resolves once it prints its key. */
export async function standaloneRelay(args: string[]) {
  const port = await freePort();
  const relay = child(['relay', '--listen', `127.0.0.1:${port}`, ...args]);
  await waitFor('the relay to start', () => {
    if (relay.proc.exitCode !== null) throw new Error(`the relay exited: ${relay.stderr()}`);
    return relay.stderr().includes('relay key');
  });
  return { url: `http://127.0.0.1:${port}`, ...relay };
}

/** A device's RelayClient to the relay at `url`, with what it received and when it was dropped. */
export function relayClient(url: string, relayPublicKey: Uint8Array, node: StaticKeyPair) {
  const client = new RelayClient({
    url,
    relayPublicKey,
    node,
    crypto,
    random: randomBytes,
    now: Date.now,
    minBackoffMs: 50,
    maxBackoffMs: 200,
  });
  cleanups.push(() => client.close());
  const c = {
    client,
    node,
    received: [] as Uint8Array[],
    health: [] as string[],
    /** Times (Date.now()) at which the connection went down. */
    drops: [] as number[],
  };
  client.onPacket((_src, packets) => c.received.push(...packets));
  client.onHealth((m) => c.health.push(m));
  client.onConnectionChange((up) => !up && c.drops.push(Date.now()));
  return c;
}

export type TestRelayClient = ReturnType<typeof relayClient>;

/** Sends one fresh packet from `from` to `to` and waits for it to arrive. */
export async function delivered(from: TestRelayClient, to: TestRelayClient): Promise<void> {
  const packet = randomBytes(64);
  const before = to.received.length;
  from.client.send(to.node.publicKey, packet);
  await waitFor('a packet through the relay', () =>
    to.received.slice(before).some((p) => Buffer.from(p).equals(packet)),
  );
}
