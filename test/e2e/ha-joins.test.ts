/**
 * Registrations racing on two real burrow-server instances sharing one PostgreSQL database: many
 * devices join at once, spread at random over both instances and two networks, through the
 * control protocol as burrowd speaks it. No address may be handed out twice, and each device's
 * map must say the address the database holds. (server/store/postgres/instances.test.ts races
 * the same at store level; this goes through the programs.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/control/messages.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { clampPrivateKey, decodeKey, encodeKey } from '../../src/wireguard/keys.js';
import { connectControl } from '../support/control-lab.js';
import { captureOutput, HaDatabase } from '../support/ha-lab.js';
import { waitFor } from '../support/netns.js';
import { freePort } from '../support/ports.js';
import { BURROW_SERVER } from '../support/programs.js';
import { Rng } from '../support/rng.js';

const crypto = selectCrypto();
const newKey = () => encodeKey(randomBytes(32));

describe('registrations racing on two instances', () => {
  let db: HaDatabase;
  const instances: { url: string; process: ChildProcess }[] = [];

  beforeAll(async () => {
    db = await HaDatabase.create();
    // One after the other: the first makes the tables and the shared key file.
    for (const [id, name] of ['one', 'two'].entries()) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const config = db.config(name, {
        listen: `127.0.0.1:${port}`,
        publicUrl: url,
        stunPort: 0,
        region: { id: id + 1, name },
      });
      const child = spawn(BURROW_SERVER, ['serve', '--config', config], { stdio: 'pipe' });
      const output = captureOutput(child);
      instances.push({ url, process: child });
      await waitFor(
        `instance ${name} to answer`,
        async () => {
          if (child.exitCode !== null) throw new Error(`burrow-server ${name} exited: ${output()}`);
          return (await fetch(`${url}/health`)).ok;
        },
        60_000,
        100,
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const { process: child } of instances) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await db?.stop();
  }, 60_000);

  /** A device joining at `url` with `authKey`: registers, asks for its map, resolves with its addresses. */
  async function join(url: string, serverKey: Uint8Array, authKey: string, hostname: string) {
    const privateKey = clampPrivateKey(randomBytes(32));
    const channel = await connectControl(url, {
      crypto,
      machine: { privateKey, publicKey: crypto.x25519PublicKey(privateKey) },
      serverPublicKey: serverKey,
      random: randomBytes,
      now: Date.now,
      timeoutMs: 30_000,
    });
    try {
      const map = await new Promise<Extract<ServerMessage, { type: 'full-map' }>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${hostname}: no map within 60 s`)), 60_000);
        channel.onClose((reason) => reject(new Error(`${hostname}: closed: ${reason}`)));
        channel.onMessage((m) => {
          if (m.type === 'register-result' && m.status !== 'ok')
            reject(new Error(`${hostname}: ${JSON.stringify(m)}`));
          else if (m.type === 'register-result') channel.send({ type: 'map', endpoints: [] });
          else if (m.type === 'error') reject(new Error(`${hostname}: ${m.reason}`));
          else if (m.type === 'full-map') {
            clearTimeout(timer);
            resolve(m);
          }
        });
        channel.send({ type: 'register', nodeKey: newKey(), discoKey: newKey(), hostname, authKey });
      });
      return { hostname, url, ips: map.map.self.ips };
    } finally {
      channel.close('done');
    }
  }

  it('many parallel joins spread at random over both instances never get one address twice', async () => {
    const seed = Date.now() % 100_000;
    const rng = new Rng(seed);
    await db.admin('users', 'create', 'alice', '--network', 'team');
    await db.admin('users', 'create', 'bob', '--network', 'lab');
    const keys = [
      await db.admin('authkeys', 'create', '--user', 'alice', '--reusable'),
      await db.admin('authkeys', 'create', '--user', 'bob', '--reusable'),
    ];
    const { publicKey } = (await (await fetch(`${instances[0]!.url}/control/key`)).json()) as {
      publicKey: string;
    };
    const serverKey = decodeKey(publicKey, 'the server key');
    const count = 80;
    const joins = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        join(rng.pick(instances).url, serverKey, rng.pick(keys), `d${i}`),
      ),
    );

    const context = `seed ${seed}`;
    // Both instances took part.
    for (const { url } of instances)
      expect(
        joins.some((j) => j.url === url),
        context,
      ).toBe(true);
    const addresses = joins.flatMap((j) => j.ips);
    expect(new Set(addresses).size, context).toBe(addresses.length);
    expect(
      joins.every((j) => j.ips.length >= 1),
      context,
    ).toBe(true);
    // The database holds the same: every device once, at the address its map gave it.
    const listed = JSON.parse(await db.admin('devices', 'list', '--json')) as {
      name: string;
      ipv4: string;
      ipv6: string;
    }[];
    expect(listed, context).toHaveLength(count);
    const byName = new Map(listed.map((d) => [d.name, [d.ipv4, d.ipv6].sort()]));
    for (const j of joins)
      expect(byName.get(j.hostname), `${context}: ${j.hostname}`).toEqual([...j.ips].sort());
  }, 180_000);
});
