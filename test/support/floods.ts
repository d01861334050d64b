/**
 * The floods of issue 13's acceptance, each run as one attacker at one address would run it against
 * a real burrow-server (test/control/floods.test.ts asserts on them, bench:abuse measures them),
 * and what is watched meanwhile: /health's latency, the server's memory, its login rows, and how
 * fast registered devices hear of each other's changes.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import Database from 'better-sqlite3';
import { type ClientChannel, connectControl } from '../../helper/control/connect.js';
import type { SqliteStore } from '../../server/store/sqlite-store.js';
import { encodeFrame } from '../../src/control/framing.js';
import type { ServerMessage } from '../../src/control/messages.js';
import { clientHandshake } from '../../src/control/noise-session.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { clampPrivateKey, encodeKey } from '../../src/wireguard/keys.js';
import { isRegisterResult, rawChannel, signIn } from './raw-control.js';

const crypto = selectCrypto();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyPair = () => {
  const privateKey = clampPrivateKey(randomBytes(32));
  return { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
};

/** The i-th address of 127.NET.0.0/16, from 127.NET.0.1 on (a host part is never 0 or 255). */
const loopback = (net: number, i: number) => `127.${net}.${Math.floor(i / 254)}.${(i % 254) + 1}`;

/** What a flood did: in words, and the one figure that says how much of it the server took on. */
export interface FloodResult {
  text: string;
  /** Login links made, channels still open, handshakes upgraded, passwords actually checked. */
  accepted: number;
}

export interface Target {
  url: string;
  serverKey: Uint8Array;
}

/** `count` key-less registrations on one channel, sent as fast as the socket takes them. */
export async function keylessRegistrations(t: Target, count: number): Promise<FloodResult> {
  const c = await rawChannel(t.url, t.serverKey);
  const nodeKey = encodeKey(randomBytes(32));
  for (let i = 0; i < count; i++) {
    c.channel.send({ type: 'register', nodeKey, discoKey: nodeKey, hostname: `flood${i % 1000}` });
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  const answered = () => c.inbox.filter(isRegisterResult).length;
  const deadline = Date.now() + 120_000;
  let closed = false;
  void c.closed.then(() => {
    closed = true;
  });
  while (answered() < count && !closed && Date.now() < deadline) await sleep(50);
  const links = c.inbox.filter((m) => isRegisterResult(m) && m.status === 'login-required').length;
  c.channel.close();
  return { text: `${count} sent, ${answered()} answered, ${links} login links`, accepted: links };
}

/** Tries to open `count` anonymous channels at once, and holds those it gets for `holdMs`. */
export async function idleChannels(t: Target, count: number, holdMs: number): Promise<FloodResult> {
  const opened: ClientChannel[] = [];
  let refused = 0;
  await Promise.all(
    Array.from({ length: count }, () =>
      connectControl(t.url, {
        crypto,
        machine: keyPair(),
        serverPublicKey: t.serverKey,
        random: randomBytes,
        now: Date.now,
      }).then(
        (c) => void opened.push(c),
        () => void refused++,
      ),
    ),
  );
  await sleep(holdMs);
  let stillOpen = 0;
  for (const c of opened) {
    if (!c.closed) stillOpen++;
    c.close();
  }
  return {
    text: `${count} tried, ${opened.length} opened, ${refused} refused, ${stillOpen} still open after ${holdMs} ms`,
    accepted: stillOpen,
  };
}

/**
 * New TCP connections at `perSecond` for `seconds`, each asking for the control upgrade and sending
 * a valid first handshake message (from a pool made beforehand, so the attacker's own key work
 * does not slow it down).
 */
export async function handshakeFlood(t: Target, perSecond: number, seconds: number): Promise<FloodResult> {
  const { hostname, port } = new URL(t.url);
  const hello = () => new TextEncoder().encode(JSON.stringify({ v: 1, ts: Date.now() }));
  const pool = Array.from({ length: 500 }, () =>
    Buffer.concat([
      Buffer.from(
        'GET /control/v1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: burrow-control/1\r\n\r\n',
      ),
      encodeFrame(clientHandshake(crypto, keyPair(), t.serverKey, hello(), randomBytes).message),
    ]),
  );
  const outcome = { upgraded: 0, tooMany: 0, other: 0, failed: 0 };
  let pending = 0;
  const one = (i: number) => {
    pending++;
    const sock = connect(Number(port), hostname);
    let first = '';
    const done = () => {
      if (!sock.destroyed) sock.destroy();
    };
    sock.setTimeout(2000, done);
    sock.on('connect', () => sock.write(pool[i % pool.length]!));
    sock.once('data', (d) => {
      first = d.toString('latin1', 0, 12);
      if (first.startsWith('HTTP/1.1 101')) outcome.upgraded++;
      else if (first.startsWith('HTTP/1.1 429')) outcome.tooMany++;
      else outcome.other++;
      done();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      pending--;
      if (first === '') outcome.failed++;
    });
  };
  const tickMs = 20;
  const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * perSecond);
    // Catching up after a slow tick, but never by more than a few ticks' worth at once.
    const upTo = Math.min(due, sent + perTick * 5);
    while (sent < upTo) one(sent++);
    await sleep(tickMs);
  }
  const elapsed = (performance.now() - started) / 1000;
  while (pending > 0) await sleep(20);
  return {
    text: `${sent} handshakes in ${elapsed.toFixed(1)} s (${(sent / elapsed).toFixed(0)}/s): ${outcome.upgraded} upgraded, ${outcome.tooMany} answered 429, ${outcome.other} other, ${outcome.failed} cut off`,
    accepted: outcome.upgraded,
  };
}

/** `count` wrong passwords at a login link, each from its own loopback address and for its own name. */
export async function wrongPasswords(link: string, count: number, concurrency = 50): Promise<FloodResult> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const answer = await signIn(link, `user${i}`, 'wrong password', loopback(10, i)).catch(() => ({
        status: 0,
      }));
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const summary = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${n}x ${s}`);
  return { text: `${count} wrong passwords: ${summary.join(', ')}`, accepted: statuses.get(401) ?? 0 };
}

/** A login link, asked for by a device at an address of its own (not the attackers'). */
export async function loginLink(t: Target): Promise<string> {
  const c = await rawChannel(t.url, t.serverKey, '127.0.9.1');
  c.register('victim');
  const result = await c.next(isRegisterResult);
  return (result as { url: string }).url;
}

export interface Watched {
  healthMs: number[];
  peakRssMb: number;
  maxLoginRows: number;
  /** Time until every other registered device heard of one device's new endpoint, per round. */
  fanoutMs: number[];
}

/** Registered devices streaming their maps, each from its own loopback address. */
export class Streams {
  private round = 0;

  private constructor(
    private readonly channels: ClientChannel[],
    /** Per round, the devices that heard its endpoint. */
    private readonly heard: Set<number>[],
    /** The endpoint of each round in flight, and its round. */
    private readonly tokens: Map<string, number>,
  ) {}

  /** Registers `count` devices straight in the store, then connects each and takes its full map. */
  static async connect(t: Target, store: SqliteStore, count: number): Promise<Streams> {
    const now = Date.now();
    const network = await store.createNetwork({ name: `watch${now}` }, now);
    const user = await store.createUser({ name: `watcher${now}`, networkId: network.id }, now);
    const sims: { machine: ReturnType<typeof keyPair>; nodeKey: string }[] = [];
    for (let i = 0; i < count; i++) {
      const machine = keyPair();
      const nodeKey = encodeKey(randomBytes(32));
      await store.registerDevice(
        {
          machineKey: encodeKey(machine.publicKey),
          nodeKey,
          discoKey: nodeKey,
          hostname: `watch${i}`,
          userId: user.id,
        },
        now,
      );
      sims.push({ machine, nodeKey });
    }
    const channels: ClientChannel[] = [];
    const heard: Set<number>[] = [];
    const tokens = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const sim = sims[i]!;
        const channel = await connectControl(t.url, {
          crypto,
          machine: sim.machine,
          serverPublicKey: t.serverKey,
          random: randomBytes,
          now: Date.now,
          localAddress: loopback(20, i),
        });
        const full = new Promise<void>((resolve) =>
          channel.onMessage((m: ServerMessage) => {
            if (m.type === 'full-map') resolve();
            if (m.type !== 'delta') return;
            for (const p of m.peersChanged ?? []) {
              for (const e of p.endpoints) {
                const round = tokens.get(e);
                if (round !== undefined) heard[round]?.add(i);
              }
            }
          }),
        );
        channel.send({
          type: 'register',
          nodeKey: sim.nodeKey,
          discoKey: sim.nodeKey,
          hostname: `watch${i}`,
        });
        channel.send({ type: 'map', endpoints: [] });
        await full;
        channels[i] = channel;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return new Streams(channels, heard, tokens);
  }

  /** One device reports a new endpoint; resolves with the ms until all others heard (or rejects). */
  async fanout(timeoutMs = 10_000): Promise<number> {
    const r = this.round++;
    const sender = r % this.channels.length;
    const token = `198.51.100.${1 + (r % 250)}:${20000 + (r % 40000)}`;
    this.tokens.set(token, r);
    this.heard[r] = new Set([sender]);
    const sent = performance.now();
    this.channels[sender]!.send({ type: 'endpoints', endpoints: [token] });
    while (this.heard[r]!.size < this.channels.length) {
      if (performance.now() - sent > timeoutMs)
        throw new Error(
          `only ${this.heard[r]!.size - 1} of ${this.channels.length - 1} devices heard round ${r}`,
        );
      await sleep(2);
    }
    this.tokens.delete(token);
    return performance.now() - sent;
  }

  close(): void {
    for (const c of this.channels) c.close();
  }
}

/** Probes the server until stopped: /health every 50 ms, memory and login rows every 250 ms, a fan-out round every 500 ms. */
export function watch(
  t: Target,
  pid: number,
  db: string,
  streams: Streams | null,
): { stop(): Promise<Watched> } {
  const watched: Watched = { healthMs: [], peakRssMb: 0, maxLoginRows: 0, fanoutMs: [] };
  let running = true;
  const health = (async () => {
    while (running) {
      const started = performance.now();
      await fetch(`${t.url}/health`).catch(() => undefined);
      watched.healthMs.push(performance.now() - started);
      await sleep(50);
    }
  })();
  const rows = new Database(db, { readonly: true });
  const count = rows.prepare('SELECT count(*) AS n FROM login_sessions');
  const sample = () => {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return; // the server is gone (a failed run is being cleaned up)
    }
    watched.peakRssMb = Math.max(watched.peakRssMb, Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024);
    watched.maxLoginRows = Math.max(watched.maxLoginRows, (count.get() as { n: number }).n);
  };
  const samples = (async () => {
    while (running) {
      sample();
      await sleep(250);
    }
  })();
  const fanouts = (async () => {
    while (running && streams) {
      watched.fanoutMs.push(await streams.fanout());
      await sleep(500);
    }
  })();
  return {
    async stop() {
      running = false;
      await Promise.all([health, samples, fanouts]);
      sample(); // what the flood left behind
      rows.close();
      return watched;
    },
  };
}

export const percentile = (xs: readonly number[], p: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
