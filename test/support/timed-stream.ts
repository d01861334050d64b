/**
 * A TCP stream of a fixed duration between two namespaces, for "no stall, nothing lost" checks: the
 * sender writes pseudo-random data for `seconds`, paced to `rate` bytes/s in 64 KiB writes, and
 * reports its count and sha256; the receiver reports the same of what it read, and every gap
 * between two reads longer than 20 ms, with when it began (Unix ms). A stall of the tunnel shows
 * as such a gap, since the receiver reads whatever arrives at once. The pace keeps the stream
 * below what the slowest peer carries on a busy machine, so that the gaps are the tunnel's, not
 * those of a peer dropping what it cannot keep up with.
 */
import type { Netns } from './netns.js';
import { collect } from './tcp-transfer.js';

export interface StreamResult {
  sent: { bytes: number; sha256: string };
  received: {
    bytes: number;
    sha256: string;
    /** Unix ms of the first and the last read. */
    first: number;
    last: number;
    /** The longest gap between two reads, in ms. */
    maxGapMs: number;
    /** Gaps over 20 ms: when each began (Unix ms) and how long it was. */
    gaps: { at: number; ms: number }[];
  };
}

const RECEIVER = `
const net = require('node:net'); const crypto = require('node:crypto');
const [host, port] = process.argv.slice(1);
const now = () => performance.timeOrigin + performance.now();
const server = net.createServer((sock) => {
  const h = crypto.createHash('sha256'); let bytes = 0; let first = 0; let last = 0; let maxGapMs = 0;
  const gaps = [];
  sock.on('data', (d) => {
    const t = now();
    if (bytes === 0) first = t;
    else {
      const gap = t - last;
      if (gap > maxGapMs) maxGapMs = gap;
      if (gap > 20 && gaps.length < 100) gaps.push({ at: last, ms: gap });
    }
    last = t; h.update(d); bytes += d.length;
  });
  sock.on('end', () => {
    console.log(JSON.stringify({ bytes, sha256: h.digest('hex'), first, last, maxGapMs, gaps }));
    server.close();
  });
});
server.listen(Number(port), host, () => console.log('listening'));
`;

const SENDER = `
const net = require('node:net'); const crypto = require('node:crypto');
const [host, port, seconds, rate] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const h = crypto.createHash('sha256'); let bytes = 0; let n = 0;
// 64 KiB per write: more than the socket's high-water mark, so each write waits for 'drain' and
// the chunk is no longer referenced when it is changed for the next one.
const chunk = crypto.randomBytes(1 << 16);
const sock = net.connect(port, host, () => {
  const start = performance.now();
  const end = start + seconds * 1000;
  const pump = () => {
    while (performance.now() < end) {
      if (bytes > ((performance.now() - start) * rate) / 1000) return setTimeout(pump, 1);
      chunk.writeUInt32LE(n, (n * 4099) % (chunk.length - 4)); // vary the stream
      n++;
      h.update(chunk); bytes += chunk.length;
      if (!sock.write(chunk)) return sock.once('drain', pump);
    }
    sock.end(() => console.log(JSON.stringify({ bytes, sha256: h.digest('hex') })));
  };
  pump();
});
sock.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

/** Streams from `from` to `toAddress` (in `to`) for `seconds` at `rate` bytes/s; resolves when both ends are done. */
export async function timedStream(
  from: Netns,
  to: Netns,
  toAddress: string,
  options: { seconds: number; rate: number; port: number },
): Promise<StreamResult> {
  const { seconds, rate, port } = options;
  const receiver = to.spawn('node', ['-e', RECEIVER, toAddress, String(port)]);
  const received = collect(receiver);
  await new Promise<void>((resolve, reject) => {
    receiver.stdout?.once('data', () => resolve());
    receiver.once('exit', () => reject(new Error('receiver exited before listening')));
  });
  const sender = from.spawn('node', ['-e', SENDER, toAddress, String(port), String(seconds), String(rate)]);
  const sent = JSON.parse((await collect(sender)).trim()) as StreamResult['sent'];
  const result = JSON.parse((await received).trim().split('\n').pop()!) as StreamResult['received'];
  return { sent, received: result };
}
