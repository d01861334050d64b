/**
 * A TCP transfer between two namespaces that checks integrity end to end: the sender streams
 * `bytes` of seeded pseudo-random data and reports its sha256; the receiver hashes what arrives.
 * Both sides are small Node processes started inside their namespaces.
 */
import type { Netns } from './netns.js';

const RECEIVER = `
const net = require('node:net'); const crypto = require('node:crypto');
const [host, port] = process.argv.slice(1);
const server = net.createServer((sock) => {
  const h = crypto.createHash('sha256'); let n = 0;
  sock.on('data', (d) => { h.update(d); n += d.length; });
  sock.on('end', () => { console.log(JSON.stringify({ bytes: n, sha256: h.digest('hex') })); server.close(); });
});
server.listen(Number(port), host, () => console.log('listening'));
`;

const SENDER = `
const net = require('node:net'); const crypto = require('node:crypto');
const [host, port, total] = process.argv.slice(1);
const h = crypto.createHash('sha256'); let left = Number(total);
const chunk = crypto.randomBytes(1 << 20);
const sock = net.connect(Number(port), host, () => {
  const pump = () => {
    while (left > 0) {
      const part = chunk.subarray(0, Math.min(chunk.length, left));
      chunk[0] ^= left & 0xff; // vary the stream
      h.update(part); left -= part.length;
      if (!sock.write(part)) return sock.once('drain', pump);
    }
    sock.end(() => console.log(JSON.stringify({ sha256: h.digest('hex') })));
  };
  pump();
});
sock.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

/** A child's stdout once it exits with 0; its stderr in the error otherwise. */
export function collect(child: ReturnType<Netns['spawn']>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

export async function tcpTransfer(
  from: Netns,
  to: Netns,
  toAddress: string,
  bytes: number,
  port = 5201,
): Promise<{ sent: string; received: string; bytes: number; seconds: number }> {
  const receiver = to.spawn('node', ['-e', RECEIVER, toAddress, String(port)]);
  const received = collect(receiver);
  await new Promise<void>((resolve, reject) => {
    receiver.stdout?.once('data', () => resolve());
    receiver.once('exit', () => reject(new Error('receiver exited before listening')));
  });
  const started = performance.now();
  const sender = from.spawn('node', ['-e', SENDER, toAddress, String(port), String(bytes)]);
  const sent = JSON.parse((await collect(sender)).trim()) as { sha256: string };
  const result = JSON.parse((await received).trim().split('\n').pop()!) as { bytes: number; sha256: string };
  return {
    sent: sent.sha256,
    received: result.sha256,
    bytes: result.bytes,
    seconds: (performance.now() - started) / 1000,
  };
}
