/**
 * A control server the test scripts, for what burrow-server never sends (a rule set this burrowd
 * cannot use), for real burrowd processes in the lab's namespaces. It runs in the test process on
 * the real control protocol listener, on a unix socket; a small forwarder inside a namespace
 * passes TCP connections from there to it, so no interface or route is added outside the lab.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { attachControl, type ServerChannel } from '../../server/control/listener.js';
import type { ClientMessage, NodeInfo, ServerMessage } from '../../src/control/messages.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import { type Netns, waitFor } from './netns.js';
import { keyPair } from './polling.js';

const crypto = selectCrypto();

/** Passes each TCP connection to host:port in the namespace on to the unix socket `path`. */
const FORWARDER = `
const net = require('node:net');
const [host, port, path] = process.argv.slice(1);
net.createServer((client) => {
  const server = net.connect(path);
  const end = () => { client.destroy(); server.destroy(); };
  for (const s of [client, server]) { s.on('error', end); s.on('close', end); }
  client.pipe(server).pipe(client);
}).listen(Number(port), host, () => console.log('listening'));
`;

/** One device's control connection: what it registered as, what it said, and a way to answer. */
export interface ScriptedDevice {
  register: Extract<ClientMessage, { type: 'register' }>;
  inbox: ClientMessage[];
  send(message: ServerMessage): void;
  /** The endpoints it reported last (in its map request or an update). */
  endpoints(): readonly string[];
}

export class ScriptedControl {
  private readonly devices: ScriptedDevice[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly http: Server,
    private readonly forwarder: ChildProcess,
    private readonly socketPath: string,
    readonly url: string,
  ) {}

  /** Serves devices at http://host:port inside `ns`, from the unix socket `socketPath`. */
  static async start(ns: Netns, host: string, port: number, socketPath: string): Promise<ScriptedControl> {
    const serverKey = keyPair();
    // Devices pin the key they are told on first use, as with burrow-server.
    const http = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/control/key') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ publicKey: encodeKey(serverKey.publicKey) }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => http.listen(socketPath, r));
    const forwarder = ns.spawn('node', ['-e', FORWARDER, host, String(port), socketPath]);
    let said = '';
    forwarder.stdout?.on('data', (d) => (said += d));
    const control = new ScriptedControl(http, forwarder, socketPath, `http://${host}:${port}`);
    http.on('connection', (s: Socket) => {
      control.sockets.add(s);
      s.on('close', () => control.sockets.delete(s));
    });
    attachControl(http, { crypto, serverKey, random: randomBytes, now: Date.now }, ({ channel }) =>
      control.accept(channel),
    );
    await waitFor(
      'the forwarder to listen',
      async () => {
        if (forwarder.exitCode !== null) throw new Error('the forwarder exited');
        return said.includes('listening');
      },
      10_000,
    );
    return control;
  }

  /** The connection of the device that registered as `hostname` (waiting for it). */
  device(hostname: string): Promise<ScriptedDevice> {
    return waitFor(
      `${hostname} to register`,
      async () => this.devices.findLast((d) => d.register.hostname === hostname),
      20_000,
    );
  }

  async close(): Promise<void> {
    this.forwarder.kill();
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.http.close(r));
    rmSync(this.socketPath, { force: true });
  }

  private accept(channel: ServerChannel): void {
    const inbox: ClientMessage[] = [];
    channel.onMessage((m) => {
      inbox.push(m);
      if (m.type === 'register') {
        this.devices.push({
          register: m,
          inbox,
          send: (s) => channel.send(s),
          endpoints: () => inbox.findLast((x) => x.type === 'map' || x.type === 'endpoints')?.endpoints ?? [],
        });
      }
    });
  }
}

/** A node of the scripted network "lab" (user alice): number `n` has 100.64.0.n and fd7a:115c:a1e0::n. */
export function labNode(
  n: number,
  name: string,
  keys: { nodeKey: string; discoKey: string },
  endpoints: readonly string[] = [],
): NodeInfo {
  return {
    id: `node${n}`,
    name,
    user: 'alice',
    network: 'lab',
    ips: [`100.64.0.${n}`, `fd7a:115c:a1e0::${n}`],
    nodeKey: keys.nodeKey,
    discoKey: keys.discoKey,
    endpoints: [...endpoints],
    homeRelay: null,
    online: true,
    lastSeen: null,
    keyExpiry: null,
    shared: false,
    exitNodeOption: false,
    routes: [],
  };
}
