/**
 * The real `wg` (wireguard-tools) against startUapiServer and a real Device. `wg` talks to any
 * /var/run/wireguard/<name>.sock without a network interface of that name, so none is created.
 * Needs root, for /var/run/wireguard.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeCrypto, randomBytes } from '../../src/crypto/index.js';
import { Device } from '../../src/wireguard/device.js';
import { encodeKey, generatePrivateKey } from '../../src/wireguard/keys.js';
import { parseWgConfig } from '../wgconfig/parse.js';
import { applySet } from './apply.js';
import { formatGet } from './protocol.js';
import { startUapiServer, type UapiServer, uapiSocketPath } from './server.js';
import { readState } from './state.js';

const WG_MISSING =
  'wireguard-tools is required for the UAPI interop tests, but the `wg` binary was not found on PATH ' +
  '(install it, e.g. `apt-get install wireguard-tools`)';

/** Runs wg without blocking: the server answering it lives in this process's event loop. */
function wg(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('wg', args, { timeout: 10_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error(WG_MISSING) : err),
    );
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function wgOk(args: string[]): Promise<string> {
  const result = await wg(args);
  if (result.status !== 0)
    throw new Error(`wg ${args.join(' ')} exited with ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** A key pair in wg's base64. */
function keyPair() {
  const privateKey = generatePrivateKey(randomBytes);
  return { privateKey, priv: encodeKey(privateKey), pub: encodeKey(nodeCrypto.x25519PublicKey(privateKey)) };
}

const started: UapiServer[] = [];
const names: string[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'burrow-wg-'));
});

afterEach(async () => {
  for (const server of started.splice(0)) await server.close();
  // close() removes the socket; this also covers a test that failed halfway through serve().
  for (const name of names.splice(0)) await rm(uapiSocketPath(name), { force: true });
  await rm(dir, { recursive: true, force: true });
});

/** burrowd's UAPI in miniature: a Device, the socket state beside it, and a server at wg's path. */
async function serve() {
  const name = `bwt${randomInt(1e9)}`;
  names.push(name);
  const local = keyPair();
  const device = new Device({
    crypto: nodeCrypto,
    privateKey: local.privateKey,
    random: randomBytes,
    wallTime: () => Date.now(),
  });
  const sockets = { privateKey: local.privateKey, listenPort: 0, fwmark: 0 };
  const hooks = {
    setListenPort: (port: number) => {
      // Stands in for a port the UDP layer cannot bind.
      if (port === 1) throw Object.assign(new Error('bind EADDRINUSE 0.0.0.0:1'), { code: 'EADDRINUSE' });
      sockets.listenPort = port;
    },
    setFwmark: (mark: number) => {
      sockets.fwmark = mark;
    },
    privateKeyChanged: (key: Uint8Array) => {
      sockets.privateKey = key;
    },
  };
  const server = await startUapiServer(uapiSocketPath(name), {
    get: () => formatGet(readState(device, sockets)),
    set: (request) => applySet(device, request, performance.now(), hooks),
  });
  started.push(server);
  return { name, local, device };
}

async function keyFile(name: string, base64: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${base64}\n`, { mode: 0o600 });
  return path;
}

describe('the real wg tool against burrowd', () => {
  it('shows, sets, removes and reports errors', async () => {
    const { name, local, device } = await serve();
    expect((await wgOk(['show', 'interfaces'])).split(/\s+/)).toContain(name);
    expect(await wgOk(['show', name, 'dump'])).toBe(`${local.priv}\t${local.pub}\t0\toff\n`);

    const next = keyPair();
    const [a, b] = [keyPair(), keyPair()];
    const psk = encodeKey(randomBytes(32));
    await wgOk([
      'set',
      name,
      'listen-port',
      '51820',
      'fwmark',
      '0x1234',
      'private-key',
      await keyFile('key', next.priv),
      'peer',
      a.pub,
      'preshared-key',
      await keyFile('psk', psk),
      'endpoint',
      '[2001:db8::1]:51821',
      'persistent-keepalive',
      '25',
      'allowed-ips',
      '10.0.0.2/32,fd00::2/128',
      'peer',
      b.pub,
      'endpoint',
      '192.0.2.7:1',
      'allowed-ips',
      '10.1.0.0/16',
    ]);
    expect(encodeKey(device.publicKey)).toBe(next.pub);
    expect(await wgOk(['show', name, 'dump'])).toBe(
      [
        `${next.priv}\t${next.pub}\t51820\t0x1234`,
        // Turning keepalive on sent a handshake initiation (148 bytes) at once.
        `${a.pub}\t${psk}\t[2001:db8::1]:51821\t10.0.0.2/32,fd00::2/128\t0\t0\t148\t25`,
        `${b.pub}\t(none)\t192.0.2.7:1\t10.1.0.0/16\t0\t0\t0\toff`,
        '',
      ].join('\n'),
    );

    // showconf prints a config file; ours reads it back.
    const shown = parseWgConfig(await wgOk(['showconf', name]), 'showconf');
    expect(encodeKey(shown.interface.privateKey)).toBe(next.priv);
    expect(shown.interface.listenPort).toBe(51820);
    expect(shown.interface.fwMark).toBe(0x1234);
    expect(
      shown.peers.map((p) => [encodeKey(p.publicKey), p.allowedIps.map((c) => c.text), p.endpoint]),
    ).toEqual([
      [a.pub, ['10.0.0.2/32', 'fd00::2/128'], { host: '2001:db8::1', port: 51821 }],
      [b.pub, ['10.1.0.0/16'], { host: '192.0.2.7', port: 1 }],
    ]);

    await wgOk(['set', name, 'peer', b.pub, 'remove', 'peer', a.pub, 'allowed-ips', '10.9.0.0/16']);
    expect(await wgOk(['show', name, 'allowed-ips'])).toBe(`${a.pub}\t10.9.0.0/16\n`);

    // An errno from burrowd becomes wg's error message.
    expect(await wg(['set', name, 'listen-port', '1'])).toMatchObject({
      status: 1,
      stderr: 'Unable to modify interface: Address already in use\n',
    });
    expect(await wgOk(['show', name, 'listen-port'])).toBe('51820\n');
  });

  it('setconf and syncconf carry a config from one interface to another', async () => {
    const first = await serve();
    const second = await serve();
    const peer = keyPair();
    await wgOk([
      'set',
      first.name,
      'listen-port',
      '40000',
      'peer',
      peer.pub,
      'allowed-ips',
      '10.0.0.0/24',
      'endpoint',
      '192.0.2.1:9',
    ]);
    const config = await wgOk(['showconf', first.name]);
    const path = join(dir, 'first.conf');
    await writeFile(path, config, { mode: 0o600 });

    await wgOk(['setconf', second.name, path]);
    expect(await wgOk(['showconf', second.name])).toBe(config);

    // syncconf reads the state, then sends only what differs: here, a peer to remove.
    await wgOk(['set', second.name, 'peer', keyPair().pub, 'allowed-ips', '10.5.0.0/16']);
    await wgOk(['syncconf', second.name, path]);
    expect(await wgOk(['showconf', second.name])).toBe(config);
  });
});
