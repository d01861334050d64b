/**
 * A TCP transfer between two namespaces with a checksum on each end: the sender streams `bytes`
 * pseudo-random bytes at about `rate` bytes/s and prints the sha256 of what it wrote; the receiver
 * prints the sha256 and count of what it read. Equal hashes mean the connection carried every byte.
 */
import type { Netns } from './netns.js';

export interface TransferResult {
  sent: { bytes: number; sha256: string };
  received: { bytes: number; sha256: string };
  ms: number;
}

const SENDER = `
const { createHash, randomBytes } = require('node:crypto');
const [host, port, total, rate] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const server = require('node:net').createServer((socket) => {
  const hash = createHash('sha256');
  let sent = 0;
  const start = Date.now();
  const pump = () => {
    while (sent < total) {
      // Stay at or under the rate: wait until the clock allows the next chunk.
      if (sent > (Date.now() - start) * rate / 1000) return setTimeout(pump, 10);
      const chunk = randomBytes(Math.min(16384, total - sent));
      hash.update(chunk);
      sent += chunk.length;
      if (!socket.write(chunk)) return socket.once('drain', pump);
    }
    socket.end(() => {
      console.log(JSON.stringify({ bytes: sent, sha256: hash.digest('hex') }));
      server.close();
    });
  };
  pump();
});
server.listen(port, host, () => console.log('listening'));
`;

const RECEIVER = `
const { createHash } = require('node:crypto');
const [host, port] = process.argv.slice(1);
const hash = createHash('sha256');
let bytes = 0;
const socket = require('node:net').connect(Number(port), host);
socket.on('data', (d) => { hash.update(d); bytes += d.length; });
socket.on('end', () => console.log(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
socket.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

/**
 * Listens on `ip:port` in `serverNs`, then connects from `clientNs`. `during` runs once the transfer
 * has started (e.g. to break a path), and the result comes when both ends are done.
 */
export async function transfer(
  serverNs: Netns,
  clientNs: Netns,
  ip: string,
  port: number,
  options: { bytes: number; rate: number; timeoutMs?: number; during?: () => Promise<void> },
): Promise<TransferResult> {
  const sender = serverNs.spawn('node', [
    '-e',
    SENDER,
    ip,
    String(port),
    String(options.bytes),
    String(options.rate),
  ]);
  let out = '';
  let err = '';
  sender.stdout?.on('data', (d) => (out += d));
  sender.stderr?.on('data', (d) => (err += d));
  const deadline = Date.now() + 10_000;
  while (!out.includes('listening')) {
    if (sender.exitCode !== null || Date.now() > deadline) throw new Error(`sender did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const start = Date.now();
  const receiving = clientNs.exec('node', ['-e', RECEIVER, ip, String(port)], {
    timeout: options.timeoutMs ?? 120_000,
  });
  await options.during?.();
  const received = JSON.parse((await receiving).stdout) as TransferResult['received'];
  const ms = Date.now() - start;
  while (!out.includes('sha256')) {
    if (sender.exitCode !== null && !out.includes('sha256')) throw new Error(`sender failed: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const sent = JSON.parse(out.split('\n').find((l) => l.includes('sha256'))!) as TransferResult['sent'];
  return { sent, received, ms };
}
