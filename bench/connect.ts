/**
 * bench:connect — how long until a peer answers, for burrowd and for wireguard-go, each measured
 * from the same point. wireguard-go twice, the same build on both ends of its pair: Debian's
 * (2022) and the modern one in test/peers (2025, bench:datapath's reference), which takes longer
 * to configure (its offloads); each figure has its ratio to both. Needs root. burrow runs in the end-to-end topology (namespaces on
 * one LAN, the real burrow-server, real burrowd processes driven by the burrow CLI: test/support,
 * so `BURROW_PROGRAMS=dist/package/bin` times the packaged programs); wireguard-go runs in two
 * namespaces joined by a veth pair, its peer already up and configured.
 *
 * "First reply" is seen by a ping that runs in the device's namespace from before the clock starts,
 * one echo request a millisecond (so nothing waits for a retry): it is the time on ping's first
 * reply line. Until the tunnel takes them its requests go nowhere (burrow: the LAN's default route;
 * wireguard-go: a route to a neighbour that drops them).
 *
 * - warm: the daemon is running and knows its configuration; the clock starts when the user gives
 *   the one command that brings the tunnel up. burrow: `burrow up` on a device that is logged in and
 *   was taken down with `burrow down` (its map is on disk, no login). wireguard-go: the process is
 *   running and its socket is up; the command is `wg setconf` with the peer's key and endpoint, then
 *   the interface's address, `ip link set up` and the route, as wg-quick does, in one `sh -c`
 *   (cheaper than wg-quick itself).
 * - first packet: both are up and idle, nothing sent yet; one `ping -c 1`, its own RTT. wireguard-go
 *   makes the handshake only now (no keepalive configured); burrowd may have made it already, when
 *   `burrow up` brought the map, as a user's first packet then finds.
 * - cold: from starting the process to the first reply. burrow: burrowd started on a device left up
 *   (as at boot; it comes up by itself from its prefs and last map). wireguard-go: starting the
 *   process, waiting for its UAPI socket (polled every millisecond), then warm's command.
 * - new device: `burrow up --auth-key` on a device never seen (registration, full map), next to
 *   wireguard-go's warm figure.
 * - CLI: `burrow status --json` next to `wg show`, each a whole process in the namespace.
 *
 * The programs run without NODE_EXTRA_CA_CERTS, as a user's would: where it is set (as on these
 * build machines, for their proxy), every Node process reads that CA file when it starts, which
 * adds some 30 ms to each start of burrow, burrowd and burrow-server and to nothing of
 * wireguard-go's.
 *
 * Every figure is the median of BENCH_ROUNDS rounds (default 5), interleaved, with each round's
 * value, and its ratio to wireguard-go's figure of the same kind measured in the same run.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LabDevice, MeshLab } from '../test/support/mesh-lab.js';
import { cleanupAll, link, Netns, uniqueName } from '../test/support/netns.js';
import { BURROW, PROGRAMS_DIR } from '../test/support/programs.js';
import {
  genKeyPair,
  startWireguardGo,
  type WireguardGoBuild,
  wireguardGoModern,
} from '../test/support/wg-peers.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** Wall-clock ms with sub-ms precision, comparable with ping -D's timestamps. */
const wallMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Pings `ip` from `ns` every millisecond until stopped; resolves once ping runs. `-l 20` keeps
 * iputils from slowing to one request every 10 ms while none is answered; without `-w`, an ICMP
 * error does not end it; stdbuf makes it print its first line at once (not with the first reply).
 */
async function startProbe(ns: Netns, ip: string): Promise<{ firstReply: Promise<number>; stop(): void }> {
  const ping = ns.spawn('stdbuf', ['-oL', 'ping', '-n', '-D', '-i', '0.001', '-l', '20', ip]);
  let text = '';
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const firstReply = new Promise<number>((resolve, reject) => {
    ping.stdout!.on('data', (d) => {
      text += d;
      if (text.startsWith('PING')) started();
      const reply = /^\[(\d+\.\d+)\] \d+ bytes from /m.exec(text);
      if (reply) resolve(Number(reply[1]) * 1000);
    });
    ping.once('exit', () => reject(new Error(`ping ${ip} ended: ${text.slice(-300)}`)));
  });
  firstReply.catch(() => undefined);
  await Promise.race([running, firstReply]);
  return { firstReply, stop: () => ping.kill() };
}

/** Runs `start` (which starts the clock's subject) with the probe running; ms until the first reply. */
async function timeToReply(ns: Netns, ip: string, start: () => Promise<unknown>): Promise<number> {
  const probe = await startProbe(ns, ip);
  try {
    const t0 = wallMs();
    const [reply] = await Promise.all([withDeadline(probe.firstReply, 30_000, ip), start()]);
    return reply - t0;
  } finally {
    probe.stop();
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply from ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** One `ping -c 1` from idle: its own round-trip time. */
async function firstPacket(ns: Netns, ip: string): Promise<number> {
  const { stdout } = await ns.exec('ping', ['-n', '-c', '1', '-W', '5', ip]);
  const rtt = /time=([\d.]+) ms/.exec(stdout);
  if (!rtt) throw new Error(`ping ${ip}: ${stdout}`);
  return Number(rtt[1]);
}

/** Wall time of a whole process run in `ns`, ms. */
async function processMs(ns: Netns, cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  await ns.exec(cmd, args);
  return performance.now() - t0;
}

interface Figures {
  warm: number[];
  firstPacket: number[];
  cold: number[];
  newDevice: number[];
  cli: number[];
}
const emptyFigures = (): Figures => ({ warm: [], firstPacket: [], cold: [], newDevice: [], cli: [] });

/** wireguard-go (`build`): a pair of namespaces, B up and configured, A ready for its wireguard-go. */
async function wgPair(build: WireguardGoBuild) {
  const a = await Netns.create('bca');
  const b = await Netns.create('bcb');
  const { aDev } = await link(a, ['192.0.2.1/24'], b, ['192.0.2.2/24']);
  // Until the tunnel's route exists, the probe's requests go to a neighbour that is not there.
  await a.exec('ip', ['neigh', 'add', '192.0.2.99', 'lladdr', '02:00:00:00:00:63', 'dev', aDev]);
  await a.exec('ip', ['route', 'add', '10.9.0.0/16', 'via', '192.0.2.99']);
  const keysA = await genKeyPair();
  const keysB = await genKeyPair();
  await startWireguardGo(
    b,
    {
      privateKey: keysB.privateKey,
      listenPort: 51822,
      addresses: ['10.9.0.2/24'],
      peers: [{ publicKey: keysA.publicKey, allowedIps: ['10.9.0.1/32'] }],
    },
    { build },
  );
  const dir = mkdtempSync(join(tmpdir(), 'bench-connect-'));
  const conf = join(dir, 'wg.conf');
  const iface = uniqueName('wgo');
  writeFileSync(
    conf,
    `[Interface]\nPrivateKey = ${keysA.privateKey}\nListenPort = 51821\n\n[Peer]\nPublicKey = ${keysB.publicKey}\nEndpoint = 192.0.2.2:51822\nAllowedIPs = 10.9.0.2/32\n`,
    { mode: 0o600 },
  );
  const startDaemon = async (): Promise<ChildProcess> => {
    const child = a.spawn(build === 'modern' ? wireguardGoModern() : 'wireguard-go', ['-f', iface], {
      env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' },
    });
    while (!existsSync(`/var/run/wireguard/${iface}.sock`)) {
      if (child.exitCode !== null) throw new Error('wireguard-go exited');
      await sleep(1);
    }
    return child;
  };
  const configure = () =>
    a.exec('sh', [
      '-c',
      `wg setconf ${iface} ${conf} && ip address add 10.9.0.1/32 dev ${iface} && ip link set ${iface} mtu 1420 up && ip route add 10.9.0.2/32 dev ${iface}`,
    ]);
  const done = async () => {
    await Promise.all([a.destroy(), b.destroy()]);
    rmSync(dir, { recursive: true, force: true });
  };
  return { a, startDaemon, configure, iface, done };
}

async function wireguardGoRound(build: WireguardGoBuild, out: Figures): Promise<void> {
  const peerIp = '10.9.0.2';
  for (const kind of ['cold', 'warm', 'firstPacket'] as const) {
    const pair = await wgPair(build);
    try {
      if (kind === 'cold') {
        out.cold.push(
          await timeToReply(pair.a, peerIp, async () => {
            await pair.startDaemon();
            await pair.configure();
          }),
        );
        continue;
      }
      await pair.startDaemon();
      if (kind === 'warm') {
        out.warm.push(await timeToReply(pair.a, peerIp, pair.configure));
        out.cli.push(await processMs(pair.a, 'wg', ['show', pair.iface]));
      } else {
        await pair.configure();
        await sleep(500);
        out.firstPacket.push(await firstPacket(pair.a, peerIp));
      }
    } finally {
      await pair.done();
    }
  }
}

async function burrowUp(device: LabDevice, ...args: string[]): Promise<void> {
  const up = await device.burrow('up', ...args);
  if (up.code !== 0) throw new Error(`${device.name}: burrow up failed: ${up.stderr}`);
}

async function burrowRound(lab: MeshLab, peerIp: string, r: number, out: Figures): Promise<void> {
  const device = await lab.device(`n${r}`);
  const authKey = await lab.admin('authkeys', 'create', '--user', 'alice');
  const login = ['--login-server', lab.serverUrl, '--auth-key', authKey, '--hostname', `n${r}`];
  out.newDevice.push(await timeToReply(device.ns, peerIp, () => burrowUp(device, ...login)));

  await device.burrow('down');
  await sleep(200);
  out.warm.push(await timeToReply(device.ns, peerIp, () => burrowUp(device)));
  out.cli.push(await processMs(device.ns, BURROW, ['--socket', device.socket, 'status', '--json']));

  await device.burrow('down');
  await burrowUp(device);
  await sleep(500);
  out.firstPacket.push(await firstPacket(device.ns, peerIp));

  await device.stop();
  out.cold.push(await timeToReply(device.ns, peerIp, () => device.start({ waitForApi: false })));
  await device.stop();
}

const BUILDS: readonly WireguardGoBuild[] = ['debian', 'modern'];
const YEAR: Record<WireguardGoBuild, string> = { debian: '2022', modern: '2025' };

/** A figure's median for burrow, then for each wireguard-go with burrow's ratio to it; every round's value below. */
function show(
  label: string,
  pick: (f: Figures) => number[],
  burrow: Figures,
  wg: Record<WireguardGoBuild, Figures>,
) {
  const b = median(pick(burrow));
  const refs = BUILDS.map((build) => {
    const w = median(pick(wg[build]));
    return `wireguard-go ${YEAR[build]} ${w.toFixed(1).padStart(5)} ms, ratio ${(b / w).toFixed(2).padStart(5)}`;
  });
  console.log(`${label.padEnd(36)} burrow ${b.toFixed(1).padStart(6)} ms | ${refs.join(' | ')}`);
  const runs = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
  console.log(
    `${''.padEnd(38)}(${[`burrow ${runs(pick(burrow))}`, ...BUILDS.map((x) => `${YEAR[x]} ${runs(pick(wg[x]))}`)].join('; ')})`,
  );
}

async function main(): Promise<void> {
  console.log(`programs: ${PROGRAMS_DIR ?? 'bin/ (the checkout)'}; ${ROUNDS} rounds`);
  if (process.env.NODE_EXTRA_CA_CERTS !== undefined) {
    console.log("(NODE_EXTRA_CA_CERTS is set here: the programs run without it, as a user's would)");
    delete process.env.NODE_EXTRA_CA_CERTS;
  }
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const burrow = emptyFigures();
  const wg: Record<WireguardGoBuild, Figures> = { debian: emptyFigures(), modern: emptyFigures() };
  const lab = await MeshLab.create();
  try {
    await lab.admin('users', 'create', 'alice');
    await lab.startServer();
    const peer = await lab.device('peer');
    await lab.join(peer, 'alice');
    const peerIp = (await peer.status()).self!.ips[0]!;
    for (let r = 0; r < ROUNDS; r++) {
      for (const build of BUILDS) await wireguardGoRound(build, wg[build]);
      await burrowRound(lab, peerIp, r, burrow);
      const last = (f: Figures) =>
        `warm ${f.warm.at(-1)!.toFixed(1)}, first packet ${f.firstPacket.at(-1)!.toFixed(2)}, cold ${f.cold.at(-1)!.toFixed(1)}`;
      console.log(
        `  round ${r + 1}: burrow ${last(burrow)}, new device ${burrow.newDevice.at(-1)!.toFixed(1)}; ${BUILDS.map((x) => `wireguard-go ${YEAR[x]} ${last(wg[x])}`).join('; ')} (ms)`,
      );
    }
  } finally {
    await lab.destroy();
    await cleanupAll();
  }
  console.log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  show('warm: up -> first reply', (f) => f.warm, burrow, wg);
  show('first packet -> reply (idle, up)', (f) => f.firstPacket, burrow, wg);
  show('cold: process start -> first reply', (f) => f.cold, burrow, wg);
  // A new device has no wireguard-go counterpart: next to its warm figure (one command, daemon up).
  show('new device: up -> first reply', (f) => (f === burrow ? f.newDevice : f.warm), burrow, wg);
  show('CLI: burrow status / wg show', (f) => f.cli, burrow, wg);
  const m = (xs: number[]) => median(xs).toFixed(1);
  const ratio = (b: number[], w: number[]) => (median(b) / median(w)).toFixed(2);
  const [d, n] = [wg.debian, wg.modern];
  console.log(
    `connect: warm_ms=${m(burrow.warm)} wg2022_warm_ms=${m(d.warm)} wg2025_warm_ms=${m(n.warm)} ratio_warm_2022=${ratio(burrow.warm, d.warm)} ratio_warm_2025=${ratio(burrow.warm, n.warm)} first_packet_ms=${m(burrow.firstPacket)} wg2022_first_packet_ms=${m(d.firstPacket)} cold_ms=${m(burrow.cold)} wg2022_cold_ms=${m(d.cold)} wg2025_cold_ms=${m(n.cold)} ratio_cold_2022=${ratio(burrow.cold, d.cold)} new_device_ms=${m(burrow.newDevice)} cli_ms=${m(burrow.cli)} wg_show_ms=${m(d.cli)}`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
