/**
 * The protocol core on its own (what `npm run demo` runs without root): two Burrow WireGuard cores
 * in this process, each behind its own real UDP socket on loopback. They handshake, exchange pings,
 * rekey (with time scaled 60x so it happens in seconds) and report their counters.
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { randomBytes, selectCrypto } from '../src/crypto/index.js';
import { parseCidr } from '../src/packet/ip-text.js';
import type { Action } from '../src/wireguard/actions.js';
import { scaleLimits } from '../src/wireguard/constants.js';
import { Device } from '../src/wireguard/device.js';
import { encodeKey, generatePrivateKey } from '../src/wireguard/keys.js';
import type { Peer } from '../src/wireguard/peer.js';

const SCALE = 60;
const crypto = selectCrypto();
const limits = scaleLimits(SCALE);
const now = () => performance.now();

interface Node {
  name: string;
  address: string;
  device: Device;
  socket: dgram.Socket;
  port: number;
  timer?: NodeJS.Timeout;
  received: number;
}

async function makeNode(name: string, address: string): Promise<Node> {
  const device = new Device({
    crypto,
    privateKey: generatePrivateKey(randomBytes),
    random: randomBytes,
    limits,
    wallTime: (t) => performance.timeOrigin + t,
  });
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { name, address, device, socket, port: socket.address().port, received: 0 };
}

function apply(node: Node, actions: Action[]): void {
  for (const a of actions) {
    if (a.kind === 'send') node.socket.send(a.data, a.endpoint.port, a.endpoint.host);
    else node.received++;
  }
  schedule(node);
}

function schedule(node: Node): void {
  clearTimeout(node.timer);
  const wake = node.device.nextWake;
  if (wake === Number.POSITIVE_INFINITY) return;
  node.timer = setTimeout(() => apply(node, node.device.tick(now())), Math.max(0, wake - now()));
}

function link(a: Node, b: Node): Peer {
  const peer = a.device.addPeer({
    publicKey: b.device.publicKey,
    endpoint: { host: '127.0.0.1', port: b.port },
  });
  const net = parseCidr(`${b.address}/32`);
  a.device.allowedIps.insert(net.addr, net.cidr, peer);
  a.socket.on('message', (msg, rinfo) =>
    apply(a, a.device.receive(new Uint8Array(msg), { host: rinfo.address, port: rinfo.port }, now())),
  );
  return peer;
}

function echoRequest(src: string, dst: string, seq: number): Uint8Array {
  const p = new Uint8Array(84);
  p[0] = 0x45;
  p[3] = 84;
  p[8] = 64;
  p[9] = 1; // ICMP
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  p[20] = 8; // echo request
  p[26] = seq >> 8;
  p[27] = seq & 0xff;
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const alice = await makeNode('alice', '100.64.0.1');
const bob = await makeNode('bob', '100.64.0.2');
const toBob = link(alice, bob);
link(bob, alice);
console.log(`crypto: ${crypto.name}; time scaled ${SCALE}x (rekey every ${limits.rekeyAfterTime / 1000} s)`);
console.log(`alice ${alice.address} udp/${alice.port} key ${encodeKey(alice.device.publicKey)}`);
console.log(`bob   ${bob.address} udp/${bob.port} key ${encodeKey(bob.device.publicKey)}`);

const seconds = 6;
let sent = 0;
const sessions = new Set<unknown>();
const started = now();
while (now() - started < seconds * 1000) {
  apply(alice, alice.device.send(echoRequest(alice.address, bob.address, sent++), now()));
  apply(bob, bob.device.send(echoRequest(bob.address, alice.address, sent++), now()));
  sessions.add(toBob.current);
  await sleep(5);
}
await sleep(200);
sessions.delete(null);
const drops = (d: Device) =>
  Object.entries(d.drops)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ') || 'none';
console.log(
  `sent ${sent} packets through the tunnel; alice received ${alice.received}, bob received ${bob.received}`,
);
console.log(
  `sessions used by alice: ${sessions.size} (handshake + rekeys), lost: ${sent - alice.received - bob.received}`,
);
console.log(`drops: alice ${drops(alice.device)}; bob ${drops(bob.device)}`);
for (const n of [alice, bob]) {
  clearTimeout(n.timer);
  n.socket.close();
}
