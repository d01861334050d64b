/**
 * Real-socket probes for NAT topologies, run with `node -e` inside namespaces: a "what is my
 * address" server (UDP and TCP; it answers with the source ip:port it saw), a client that asks it
 * from one UDP socket, and a hole-punching pair. No burrowd involved.
 */
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns.js';
import { waitFor } from './netns.js';

const ECHO_SERVER = `
const dgram = require('node:dgram');
const net = require('node:net');
const { udp, tcp } = JSON.parse(process.argv[1]);
let pending = udp.length + 1;
const ready = () => { if (--pending === 0) process.stdout.write('ready\\n'); };
for (const port of udp) {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(r.address + ':' + r.port, r.port, r.address));
  s.bind(port, '0.0.0.0', ready);
}
net.createServer((c) => c.end(c.remoteAddress + ':' + c.remotePort)).listen(tcp, '0.0.0.0', ready);
`;

const WHOAMI = `
const dgram = require('node:dgram');
const { targets, localPort, waitMs, ttl } = JSON.parse(process.argv[1]);
const s = dgram.createSocket('udp4');
let waiting = null;
s.on('message', (m, r) => { if (waiting && waiting.target === r.address + ':' + r.port) waiting.resolve(String(m)); });
s.bind(localPort, async () => {
  if (ttl) s.setTTL(ttl);
  const answers = [];
  for (const target of targets) {
    const [host, port] = target.split(':');
    let answer = null;
    for (let attempt = 0; attempt < 3 && answer === null; attempt++) {
      answer = await new Promise((resolve) => {
        waiting = { target, resolve };
        s.send('who', Number(port), host);
        setTimeout(() => resolve(null), waitMs / 3);
      });
    }
    answers.push(answer);
  }
  process.stdout.write(JSON.stringify({ localPort: s.address().port, answers }) + '\\n');
  s.close();
});
`;

const PUNCH = `
const dgram = require('node:dgram');
const { localPort, peer, ms } = JSON.parse(process.argv[1]);
const [host, port] = peer.split(':');
const s = dgram.createSocket('udp4');
const from = new Set();
let received = 0;
s.on('message', (m, r) => { received++; from.add(r.address + ':' + r.port); });
s.bind(localPort, () => {
  const tick = setInterval(() => s.send('punch', Number(port), host), 50);
  setTimeout(() => {
    clearInterval(tick);
    process.stdout.write(JSON.stringify({ received, from: [...from] }) + '\\n');
    s.close();
  }, ms);
});
`;

const TCP_WHOAMI = `
const net = require('node:net');
const { host, port } = JSON.parse(process.argv[1]);
const c = net.connect({ host, port, timeout: 3000 });
let data = '';
c.on('data', (d) => (data += d));
c.on('end', () => process.stdout.write(JSON.stringify(data) + '\\n'));
c.on('timeout', () => { process.stdout.write('null\\n'); process.exit(0); });
c.on('error', () => process.stdout.write('null\\n'));
`;

async function script<T>(ns: Netns, code: string, args: unknown): Promise<T> {
  const { stdout } = await ns.exec('node', ['-e', code, JSON.stringify(args)], { timeout: 30_000 });
  return JSON.parse(stdout) as T;
}

/**
 * Starts the "what is my address" server in `ns`, listening on every port of `udp` and on `tcp`
 * (all addresses); it is killed with the namespace.
 */
export async function startAddressEcho(ns: Netns, udp: number[], tcp: number): Promise<ChildProcess> {
  const proc = ns.spawn('node', ['-e', ECHO_SERVER, JSON.stringify({ udp, tcp })]);
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  await waitFor('the address echo server', async () => {
    if (proc.exitCode !== null) throw new Error(`address echo server exited: ${out}`);
    return out.includes('ready');
  });
  return proc;
}

/**
 * From ONE UDP socket in `ns` (bound to `localPort`, or any), asks each `ip:port` target in turn
 * which source address it sees; an answer is `ip:port`, or null when none came within `waitMs`.
 * With `ttl`, its packets leave with that hop limit.
 */
export function whoami(
  ns: Netns,
  targets: string[],
  options: { localPort?: number; waitMs?: number; ttl?: number } = {},
): Promise<{ localPort: number; answers: (string | null)[] }> {
  const { localPort = 0, waitMs = 1500, ttl } = options;
  return script(ns, WHOAMI, { targets, localPort, waitMs, ...(ttl !== undefined ? { ttl } : {}) });
}

/** The source address the TCP echo at `host:port` sees from `ns`, or null if it cannot be reached. */
export function tcpWhoami(ns: Netns, host: string, port: number): Promise<string | null> {
  return script(ns, TCP_WHOAMI, { host, port });
}

export interface PunchSide {
  ns: Netns;
  localPort: number;
  /** Where this side sends: the other side's public ip:port, as it would have learned it. */
  peer: string;
}

/**
 * Both sides send to each other from their own socket every 50 ms for `ms`, at the same time (as
 * hole punching does); resolves with what each side received and from where.
 */
export function punch(
  a: PunchSide,
  b: PunchSide,
  ms = 1500,
): Promise<[{ received: number; from: string[] }, { received: number; from: string[] }]> {
  const run = (s: PunchSide) =>
    script<{ received: number; from: string[] }>(s.ns, PUNCH, { localPort: s.localPort, peer: s.peer, ms });
  return Promise.all([run(a), run(b)]);
}
