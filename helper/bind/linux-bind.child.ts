/**
 * The process side of linux-bind.test.ts: runs one scenario with real sockets and prints one JSON
 * line. Started inside a test namespace (the mark scenario changes policy rules, so never in the root
 * one):
 *   ip netns exec NS node --import tsx helper/bind/linux-bind.child.ts SCENARIO
 * On success it never calls process.exit: closed binds must let the process end by itself.
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { done, errorOf, timeout } from '../../test/support/child-script.js';
import type { Datagram } from './bind.js';
import { type LinuxBind, openBind } from './linux-bind.js';

const [scenario = ''] = process.argv.slice(2);
const MARK = 0x80000;

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** Resolves with the next batch `bind` receives. */
function nextBatch(bind: LinuxBind): Promise<Datagram[]> {
  return new Promise((resolve) => bind.onDatagrams(resolve));
}

/** Binds node's own sockets on `port`, IPv4 and IPv6 separately; resolves with what failed, if anything. */
async function nodeCanBind(port: number): Promise<string[]> {
  const failures: string[] = [];
  for (const type of ['udp4', 'udp6'] as const) {
    const socket = createSocket({ type, ipv6Only: type === 'udp6' });
    await new Promise<void>((resolve) => {
      socket.once('error', (e) => {
        failures.push(`${type}: ${(e as NodeJS.ErrnoException).code}`);
        resolve();
      });
      socket.bind(port, resolve);
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  return failures;
}

const scenarios: Record<string, () => Promise<void>> = {
  /** Two binds exchange datagrams over IPv4 and IPv6 loopback; sources read back as plain text. */
  async exchange() {
    const timer = timeout(10_000, 'exchange');
    const a = openBind(0, { fwmark: 0 });
    const b = openBind(0, { fwmark: 0 });
    const results: unknown[] = [];
    for (const host of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      const atB = nextBatch(b);
      a.send([{ data: text(`hello over ${host}`), host, port: b.port }]);
      const [got] = await atB;
      const atA = nextBatch(a);
      b.send([{ data: text(`reply to ${got!.host}`), host: got!.host, port: got!.port }]);
      const [reply] = await atA;
      results.push({
        sentTo: host,
        atB: { data: str(got!.data), host: got!.host, port: got!.port },
        atA: { data: str(reply!.data), host: reply!.host, port: reply!.port },
      });
    }
    const stats = { a: a.stats(), b: b.stats() };
    a.close();
    b.close();
    clearTimeout(timer);
    done({ aPort: a.port, bPort: b.port, dualStack: a.dualStack, results, stats });
  },

  /** 1000 datagrams of 1420 bytes in one send all arrive, in far fewer callbacks. */
  async batch() {
    const timer = timeout(10_000, 'batch');
    const a = openBind(0, { fwmark: 0 });
    const b = openBind(0, { fwmark: 0 });
    const count = 1000;
    const seen = new Set<number>();
    let callbacks = 0;
    let bad = 0;
    const all = new Promise<void>((resolve) =>
      b.onDatagrams((batch) => {
        callbacks++;
        for (const d of batch) {
          const seq = new DataView(d.data.buffer, d.data.byteOffset).getUint32(0);
          if (d.data.length !== 1420 || d.data[1419] !== (seq & 0xff) || d.port !== a.port) bad++;
          seen.add(seq);
        }
        if (seen.size === count) resolve();
      }),
    );
    const datagrams: Datagram[] = [];
    for (let seq = 0; seq < count; seq++) {
      const data = new Uint8Array(1420).fill(seq & 0xff);
      new DataView(data.buffer).setUint32(0, seq);
      datagrams.push({ data, host: seq % 2 ? '127.0.0.1' : '::1', port: b.port });
    }
    const sent = a.send(datagrams);
    await all;
    clearTimeout(timer);
    const stats = { a: a.stats(), b: b.stats() };
    a.close();
    b.close();
    done({ sent, received: seen.size, callbacks, bad, stats });
  },

  /**
   * SO_MARK is set: ss shows it, and a rule that prohibits marked packets (with the local table moved
   * behind it) stops the marked bind's traffic and only that.
   */
  async mark() {
    const timer = timeout(10_000, 'mark');
    const marked = openBind(0, { fwmark: MARK });
    const plain = openBind(0, { fwmark: 0 });
    const ss = execFileSync('ss', ['-uampeH', 'sport', '=', `:${marked.port}`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    const ssPlain = execFileSync('ss', ['-uampeH', 'sport', '=', `:${plain.port}`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    ip('rule', 'add', 'priority', '100', 'lookup', 'local');
    ip('rule', 'del', 'priority', '0');
    ip('rule', 'add', 'priority', '10', 'fwmark', `0x${MARK.toString(16)}`, 'prohibit');

    // Unmarked traffic passes the rule.
    const atMarked = nextBatch(marked);
    plain.send([{ data: text('unmarked'), host: '127.0.0.1', port: marked.port }]);
    const [got] = await atMarked;
    // Marked traffic hits it: the kernel refuses the send (EACCES) and nothing arrives.
    let leaked = 0;
    plain.onDatagrams((batch) => {
      leaked += batch.length;
    });
    const markedSent = marked.send([{ data: text('marked'), host: '127.0.0.1', port: plain.port }]);
    await new Promise((r) => setTimeout(r, 300));
    const stats = marked.stats();
    marked.close();
    plain.close();
    clearTimeout(timer);
    done({
      ssFwmark: /fwmark:(0x[0-9a-f]+)/.exec(ss)?.[1] ?? null,
      ssPlainFwmark: /fwmark:(0x[0-9a-f]+)/.exec(ssPlain)?.[1] ?? null,
      unmarkedArrived: got ? str(got.data) : null,
      markedSent,
      leaked,
      sendErrors: stats.sendErrors,
      lastSendError: stats.lastSendError ?? null,
    });
  },

  /** Port 0 picks a port; the port is taken while open, for v4 and v6; closing frees it. */
  async port() {
    const a = openBind(0, { fwmark: 0 });
    const taken = errorOf(() => openBind(a.port, { fwmark: 0 }));
    const nodeWhileOpen = await nodeCanBind(a.port);
    a.close();
    const nodeAfterClose = await nodeCanBind(a.port);
    const again = openBind(a.port, { fwmark: 0 });
    const againPort = again.port;
    again.close();
    done({ port: a.port, taken, nodeWhileOpen, nodeAfterClose, againPort });
  },

  /** Bad input gives clear errors, sends nothing, and does not crash. */
  async bad() {
    const a = openBind(0, { fwmark: 0 });
    const b = openBind(0, { fwmark: 0 });
    let received = 0;
    b.onDatagrams((batch) => {
      received += batch.length;
    });
    const ok = { data: text('ok'), host: '127.0.0.1', port: b.port };
    const errors = {
      notAnAddress: errorOf(() => a.send([ok, { data: text('x'), host: 'not-an-ip', port: b.port }])),
      hostname: errorOf(() => a.send([ok, { data: text('x'), host: 'localhost', port: b.port }])),
      badOctet: errorOf(() => a.send([ok, { data: text('x'), host: '256.1.1.1', port: b.port }])),
      unknownScope: errorOf(() => a.send([ok, { data: text('x'), host: 'fe80::1%nosuchif0', port: b.port }])),
      portZero: errorOf(() => a.send([ok, { data: text('x'), host: '127.0.0.1', port: 0 }])),
      notBytes: errorOf(() =>
        a.send([ok, { data: 'x' as unknown as Uint8Array, host: '127.0.0.1', port: b.port }]),
      ),
      notArray: errorOf(() => a.send({} as unknown as Datagram[])),
      badPort: errorOf(() => openBind(70000, { fwmark: 0 })),
      badMark: errorOf(() => openBind(0, { fwmark: -1 })),
    };
    const sentAfterErrors = a.stats().packetsSent;
    // A valid send still works afterwards.
    a.send([ok]);
    await new Promise((r) => setTimeout(r, 200));
    a.close();
    b.close();
    const afterClose = errorOf(() => a.send([ok]));
    done({ errors, sentAfterErrors, received, afterClose });
  },

  /** Without CAP_NET_ADMIN (run as nobody), setting the mark fails with an error naming SO_MARK. */
  async unprivileged() {
    const error = errorOf(() => openBind(0, { fwmark: MARK }));
    const unmarked = openBind(0, { fwmark: 0 });
    unmarked.close();
    done({ error, unmarkedOpened: unmarked.port > 0 });
  },

  /**
   * Datagrams with a ttl leave with that hop limit, over IPv4, v4-mapped and IPv6, the others with
   * the system's; nftables counts what left by its TTL. A ttl out of 1..255 is refused.
   */
  async ttl() {
    const timer = timeout(10_000, 'ttl');
    const a = openBind(0, { fwmark: 0 });
    const b = openBind(0, { fwmark: 0 });
    const port = b.port;
    execFileSync('nft', ['-f', '-'], {
      input: `table inet ttlcount {
        chain out { type filter hook output priority 0; policy accept;
          udp dport ${port} ip ttl 2 counter
          udp dport ${port} ip6 hoplimit 2 counter
          udp dport ${port} ip ttl 64 counter
        }
      }`,
    });
    const arrived: string[] = [];
    b.onDatagrams((ds) => {
      for (const d of ds) arrived.push(str(d.data));
    });
    a.send([
      { data: text('low v4'), host: '127.0.0.1', port, ttl: 2 },
      { data: text('plain v4'), host: '127.0.0.1', port },
      { data: text('low v6'), host: '::1', port, ttl: 2 },
    ]);
    const refused = errorOf(() => a.send([{ data: text('x'), host: '127.0.0.1', port, ttl: 0 }]))?.message;
    while (arrived.length < 3) await new Promise((r) => setTimeout(r, 20));
    const rules = execFileSync('nft', ['list', 'chain', 'inet', 'ttlcount', 'out'], { encoding: 'utf8' });
    const counts = [...rules.matchAll(/packets (\d+)/g)].map((m) => Number(m[1]));
    execFileSync('nft', ['delete', 'table', 'inet', 'ttlcount']);
    a.close();
    b.close();
    clearTimeout(timer);
    done({ arrived: arrived.sort(), counts, refused });
  },
};

const run = scenarios[scenario];
if (!run) {
  process.stderr.write(`unknown scenario ${scenario}\n`);
  process.exit(2);
}
run().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
