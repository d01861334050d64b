/**
 * bench:control — burrow-server under a large network. One network of BENCH_DEVICES devices (no
 * policy, so every device sees every other: the heaviest case) is written to a fresh SQLite file,
 * the real `burrow-server serve` runs on it as its own process, and BENCH_STREAMS simulated devices
 * connect from this process over the real protocol (HTTP upgrade, Noise IK, framed messages).
 *
 * BENCH_NETWORKS (default 1) splits the devices and streams over that many networks: device i is
 * in network i % BENCH_NETWORKS, and a change then reaches the streams of its own network only.
 *
 * Measured:
 * - full map: a device not yet streaming asks for its map; the time until the whole map has
 *   arrived and passed the device's checks (median of BENCH_FRESH devices);
 * - fan-out: a streaming device reports a new endpoint; the time until every other streaming
 *   device has it (BENCH_ROUNDS rounds; p50 and p99);
 * - the server's CPU seconds and peak RSS, from /proc.
 * Headscale cannot run here (no package), so each figure is printed with its ratio to the bar.
 *
 * `-- --store postgres --instances N`: the same network, copied into a throwaway PostgreSQL cluster
 * (burrow-server migrate's copy), served by N instances on it with the streams spread over them; a
 * fan-out then crosses instances through the change feed's NOTIFY. Single-instance SQLite runs
 * first in the same run, and each PostgreSQL figure is printed with its ratio to SQLite's.
 *
 * The simulated devices decrypt every message but parse full maps only for the measured devices:
 * 2,000 devices re-parsing 10,000-peer maps would measure this process, not the server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type ClientChannel, connectControl } from '../helper/control/connect.js';
import { copySqliteToPostgres } from '../server/store/copy-to-postgres.js';
import { openSqliteStore } from '../server/store/sqlite-store.js';
import { startPgCluster } from '../server/store/test-support/pg-cluster.js';
import { type ServerMessage, serverMessage } from '../src/control/messages.js';
import { parseJson } from '../src/control/schema.js';
import { randomBytes, selectCrypto } from '../src/crypto/index.js';
import { clampPrivateKey } from '../src/wireguard/keys.js';
import { freePort } from '../test/support/ports.js';
import { BURROW_SERVER } from '../test/support/programs.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const FRESH = Number(process.env.BENCH_FRESH ?? 5);
/** Device i (and stream i) is in network i % NETWORKS; a network's devices see only each other. */
const NETWORKS = Number(process.env.BENCH_NETWORKS ?? 1);
const inNetwork = (n: number, below: number) => (below > n ? Math.floor((below - 1 - n) / NETWORKS) + 1 : 0);
const CONCURRENCY = 16;
const BARS = { fanoutP99Ms: 1000, fullmapMs: 500, rssMb: 1500 };

/** `--store sqlite|postgres` and `--instances N` (PostgreSQL only), after npm run's `--`. */
function options(argv: string[]): { store: 'sqlite' | 'postgres'; instances: number } {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const store = value('--store') ?? 'sqlite';
  const instances = Number(value('--instances') ?? 1);
  if (store !== 'sqlite' && store !== 'postgres')
    throw new Error(`--store: "${store}" is not sqlite or postgres`);
  if (!Number.isInteger(instances) || instances < 1 || (store === 'sqlite' && instances !== 1))
    throw new Error('--instances: a whole number, and 1 on SQLite (one server per file)');
  return { store, instances };
}

const crypto = selectCrypto();
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const sleep = async (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SimDevice {
  machine: { privateKey: Uint8Array; publicKey: Uint8Array };
  nodeKey: string;
  discoKey: string;
  hostname: string;
}

function simDevice(i: number): SimDevice {
  const privateKey = clampPrivateKey(randomBytes(32));
  return {
    machine: { privateKey, publicKey: crypto.x25519PublicKey(privateKey) },
    nodeKey: b64(randomBytes(32)),
    discoKey: b64(randomBytes(32)),
    hostname: `dev${i}`,
  };
}

/** Writes the network straight into the database, as years of registrations would have. */
async function seed(db: string, sims: SimDevice[]): Promise<void> {
  const store = openSqliteStore({ path: db });
  const now = Date.now();
  await store.transaction(async () => {
    // 100 users in all, spread over the networks (one each at least).
    const perNetwork = Math.max(1, Math.floor(100 / NETWORKS));
    const users: { id: string }[][] = [];
    for (let n = 0; n < NETWORKS; n++) {
      const network = await store.createNetwork({ name: NETWORKS === 1 ? 'bench' : `bench${n}` }, now);
      const own = [];
      for (let u = 0; u < perNetwork; u++)
        own.push(await store.createUser({ name: `user${n}-${u}`, networkId: network.id }, now));
      users.push(own);
    }
    for (let i = 0; i < DEVICES; i++) {
      const sim = sims[i] ?? simDevice(i);
      const d = await store.registerDevice(
        {
          machineKey: b64(sim.machine.publicKey),
          nodeKey: sim.nodeKey,
          discoKey: sim.discoKey,
          hostname: sim.hostname,
          userId: users[i % NETWORKS]![Math.floor(i / NETWORKS) % perNetwork]!.id,
        },
        now,
      );
      const port = 41641 + (i % 1000);
      await store.setDeviceStatus(
        d.id,
        { endpoints: [`203.0.113.${i % 250}:${port}`, `10.0.${i % 250}.1:${port}`] },
        now,
      );
    }
  });
  await store.close();
}

function procFigures(pid: number): { cpuSeconds: number; peakRssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpuSeconds: ticks / 100, peakRssMb: Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024 };
}

/**
 * Until the measurements start, the load devices recognise maps and deltas without parsing them;
 * from then on they parse and check every message, as a device does.
 */
let parseEverything = false;
function readMessage(text: string): ServerMessage {
  if (!parseEverything) {
    const seq = Number(/"seq":(\d+)/.exec(text)?.[1]);
    if (text.startsWith('{"type":"full-map"')) return { type: 'full-map', seq, map: {} as never };
    if (text.startsWith('{"type":"delta"')) return { type: 'delta', seq };
  }
  return parseJson(serverMessage, text);
}

interface Stream {
  channel: ClientChannel;
  id: string;
}

async function connect(url: string, serverKey: Uint8Array, sim: SimDevice, full = false) {
  const channel = await connectControl(url, {
    crypto,
    machine: sim.machine,
    serverPublicKey: serverKey,
    random: randomBytes,
    now: Date.now,
    ...(full ? {} : { readMessage }),
  });
  const next = () => new Promise<ServerMessage>((resolve) => channel.onMessage(resolve));
  let reply = next();
  channel.send({ type: 'register', nodeKey: sim.nodeKey, discoKey: sim.discoKey, hostname: sim.hostname });
  const registered = await reply;
  if (registered.type !== 'register-result' || registered.status !== 'ok')
    throw new Error(`registration failed: ${JSON.stringify(registered)}`);
  reply = next();
  const asked = performance.now();
  channel.send({ type: 'map', endpoints: ['198.51.100.1:41641'] });
  const map = await reply;
  if (map.type !== 'full-map') throw new Error(`expected a full map, got ${map.type}`);
  return { channel, id: registered.self.id, map, mapMs: performance.now() - asked };
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface Figures {
  fullmapMs: number;
  p50: number;
  p99: number;
  /** Per instance. */
  cpuSeconds: number[];
  peakRssMb: number[];
}

/** The servers' base config: the per-address limits raised, as every simulated device comes from 127.0.0.1. */
const BASE_CONFIG = {
  stunPort: 0, // STUN's default port would be shared with whatever else runs here
  controlLimits: { handshakesPerSecond: 100_000, handshakeBurst: 100_000, unregisteredPerAddress: 100_000 },
};

/** Starts `burrow-server serve` once per config (each given a free port); their URLs and processes. */
async function startServers(dir: string, configs: object[]) {
  const servers = [];
  for (const [n, extra] of configs.entries()) {
    const port = await freePort();
    const config = join(dir, `server${n}.hujson`);
    writeFileSync(config, JSON.stringify({ ...BASE_CONFIG, ...extra, listen: `127.0.0.1:${port}` }));
    const process = spawn(BURROW_SERVER, ['serve', '--config', config], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    servers.push({ url: `http://127.0.0.1:${port}`, process });
  }
  for (const { url, process } of servers) {
    for (let i = 0; ; i++) {
      if (process.exitCode !== null) throw new Error('burrow-server exited');
      const ok = await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 600) throw new Error('burrow-server did not start');
      await sleep(100);
    }
  }
  return servers;
}

/** Streams spread over the servers, fan-out rounds started on each in turn, full maps from each. */
async function measure(urls: string[], pids: number[], sims: SimDevice[]): Promise<Figures> {
  parseEverything = false;
  const key = (await (await fetch(`${urls[0]}/control/key`)).json()) as { publicKey: string };
  const serverKey = new Uint8Array(Buffer.from(key.publicKey, 'base64'));
  const streams: Stream[] = [];
  try {
    const t = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < STREAMS) {
        const i = next++;
        const s = await connect(urls[i % urls.length]!, serverKey, sims[i]!);
        streams[i] = { channel: s.channel, id: s.id };
        if ((i + 1) % 250 === 0) console.log(`  ${i + 1} streams`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    console.log(`${STREAMS} streams connected in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // Fan-out: each device records when it hears of the round's endpoint.
    let token = '';
    let heard = new Set<number>();
    let lastHeard = 0;
    streams.forEach((s, i) => {
      s.channel.onMessage((m) => {
        if (m.type !== 'delta' || !m.peersChanged) return;
        if (m.peersChanged.some((p) => p.endpoints.includes(token)) && !heard.has(i)) {
          heard.add(i);
          lastHeard = performance.now();
        }
      });
    });
    parseEverything = true;
    await sleep(2000); // let the online-state deltas of the last connections drain
    const fanouts: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const k = (r * 7919) % STREAMS;
      const audience = inNetwork(k % NETWORKS, STREAMS); // the streams in k's network, k among them
      token = `198.51.100.${1 + (r % 250)}:${20000 + r}`;
      heard = new Set([k]);
      const sent = performance.now();
      streams[k]!.channel.send({ type: 'endpoints', endpoints: [token] });
      const deadline = sent + 10_000;
      while (heard.size < audience && performance.now() < deadline) await sleep(1);
      if (heard.size < audience)
        throw new Error(`round ${r}: only ${heard.size - 1} of ${audience - 1} heard`);
      fanouts.push(lastHeard - sent);
      await sleep(100);
    }

    const fullMaps: number[] = [];
    for (let f = 0; f < FRESH; f++) {
      const s = await connect(urls[f % urls.length]!, serverKey, sims[STREAMS + f]!, true);
      const peers = inNetwork((STREAMS + f) % NETWORKS, DEVICES) - 1;
      if (s.map.type !== 'full-map' || s.map.map.peers.length !== peers)
        throw new Error(`the full map has ${s.map.type === 'full-map' ? s.map.map.peers.length : 0} peers`);
      fullMaps.push(s.mapMs);
      s.channel.close();
      await sleep(200);
    }
    const procs = pids.map(procFigures);
    return {
      fullmapMs: percentile(fullMaps, 50),
      p50: percentile(fanouts, 50),
      p99: percentile(fanouts, 99),
      cpuSeconds: procs.map((p) => p.cpuSeconds),
      peakRssMb: procs.map((p) => p.peakRssMb),
    };
  } finally {
    for (const s of streams) s?.channel.close();
  }
}

/** Runs `burrow-server serve` per config, measures, and stops them. */
async function run(dir: string, configs: object[], sims: SimDevice[]): Promise<Figures> {
  const servers = await startServers(dir, configs);
  try {
    return await measure(
      servers.map((s) => s.url),
      servers.map((s) => s.process.pid!),
      sims,
    );
  } finally {
    for (const { process } of servers) {
      process.kill('SIGTERM');
      await new Promise((r) => (process.exitCode !== null ? r(null) : process.once('exit', r)));
    }
  }
}

function report(label: string, f: Figures, peer?: Figures): void {
  const bar = (x: number, b: number) => `${(x / b).toFixed(2)}x of the bar`;
  const vs = (x: number, y: number | undefined) =>
    y === undefined ? '' : `, ${(x / y).toFixed(2)}x sqlite's`;
  const rss = Math.max(...f.peakRssMb);
  console.log(`${label}:`);
  console.log(
    `  full map (${inNetwork(0, DEVICES) - 1} peers): median ${f.fullmapMs.toFixed(0)} ms (${bar(f.fullmapMs, BARS.fullmapMs)}${vs(f.fullmapMs, peer?.fullmapMs)})`,
  );
  console.log(
    `  fan-out to ${inNetwork(0, STREAMS) - 1} streams over ${ROUNDS} rounds: p50 ${f.p50.toFixed(0)} ms${vs(f.p50, peer?.p50)}, p99 ${f.p99.toFixed(0)} ms (${bar(f.p99, BARS.fanoutP99Ms)}${vs(f.p99, peer?.p99)})`,
  );
  console.log(
    `  per instance: CPU ${f.cpuSeconds.map((c) => `${c.toFixed(1)} s`).join(', ')}; peak RSS ${f.peakRssMb.map((m) => `${m.toFixed(0)} MB`).join(', ')} (largest ${bar(rss, BARS.rssMb)}${vs(rss, peer ? Math.max(...peer.peakRssMb) : undefined)})`,
  );
  console.log(
    `control: store=${label} devices=${DEVICES} networks=${NETWORKS} streams=${STREAMS} fullmap_ms=${f.fullmapMs.toFixed(0)} fanout_p50_ms=${f.p50.toFixed(0)} fanout_p99_ms=${f.p99.toFixed(0)} rss_mb=${rss.toFixed(0)}`,
  );
}

async function main(): Promise<void> {
  const { store, instances } = options(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'burrow-bench-control-'));
  const db = join(dir, 'burrow.db');
  const sims = Array.from({ length: STREAMS + FRESH }, (_, i) => simDevice(i));
  const cluster = store === 'postgres' ? await startPgCluster() : null;
  try {
    const t = performance.now();
    await seed(db, sims);
    console.log(
      `seeded ${DEVICES} devices in ${NETWORKS} network(s) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    let database: string | undefined;
    if (cluster) {
      // Copied before SQLite's run changes its file: both start from the same rows.
      await cluster.psql('CREATE DATABASE bench');
      database = `postgres://${cluster.user}@/bench?host=${encodeURIComponent(cluster.dir)}`;
      await copySqliteToPostgres({ from: db, to: database });
    }
    const sqlite = await run(dir, [{ db }], sims);
    report('sqlite', sqlite);
    if (database !== undefined) {
      const config = { database, keyFile: `${db}.key` };
      const postgres = await run(
        dir,
        Array.from({ length: instances }, () => config),
        sims,
      );
      report(`postgres x${instances}`, postgres, sqlite);
    }
  } finally {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
