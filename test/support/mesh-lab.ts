/**
 * A small internet in namespaces for end-to-end tests: a hub namespace with a bridge (the LAN,
 * 10.99.0.0/24, routed by the hub), an "internet" host behind the hub (198.51.100.2), the real
 * burrow-server in its own namespace, and one namespace per device running the real burrowd,
 * driven through the real burrow CLI. Everything is removed by `destroy` (and by cleanupAll).
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { configureNat, type NatKind, setUdpBlocked } from './nat-router.js';
import { CommandError, link, Netns, run, uniqueName, waitFor } from './netns.js';
import { BURROW, BURROW_SERVER, BURROWD } from './programs.js';

const exec = promisify(execFile);
export const INTERNET_IP = '198.51.100.2';
const SERVER_PORT = 8080;

export interface LabDevice {
  name: string;
  ns: Netns;
  lanIp: string;
  socket: string;
  process: ChildProcess;
  /**
   * Stops burrowd with `signal` (SIGTERM by default; SIGKILL as if it crashed, leaving whatever it
   * had set up) and starts it again on the same state directory.
   */
  restart(signal?: NodeJS.Signals): Promise<void>;
  /** The two halves of `restart`, for a benchmark that times the start alone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts burrowd again after `stop`. By default it waits for the LocalAPI; `waitForApi: false`
   * returns as soon as the process is started (polling with the CLI would slow what is timed).
   */
  start(options?: { waitForApi?: boolean }): Promise<void>;
  /** Runs `burrow --socket S ARGS...`; resolves with its exit code and output (never rejects). */
  burrow(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `burrow status --json`, parsed. */
  status(): Promise<StatusJson>;
  output(): string;
}

/**
 * A namespace behind a NAT router of its own (see nat-router.ts). The router sits on the lab LAN
 * at `publicIp` (the LAN plays the internet); the host is at `lanIp` = 192.168.K.2 on the router's
 * private subnet 192.168.K.0/24, its default route via the router (192.168.K.1).
 */
export interface NatHost {
  name: string;
  ns: Netns;
  /** The private address, behind the router. */
  lanIp: string;
  nat: NatKind;
  router: Netns;
  publicIp: string;
  /** Makes the router drop every forwarded UDP packet, both ways (established flows too). Idempotent. */
  blockUdp(): Promise<void>;
  /** Undoes `blockUdp` (the rules of the NAT kind stay). Idempotent. */
  unblockUdp(): Promise<void>;
}

/** Sets up a NAT router in place of nat-router.ts: `publicIp` on `wan` (the lab LAN), `subnet` on `lan`. */
export type RouterSetup = (router: {
  router: Netns;
  wan: string;
  lan: string;
  publicIp: string;
  subnet: string;
  hub: Netns;
}) => Promise<void>;

/** A device running burrowd behind a NAT router. */
export type NatDevice = LabDevice & NatHost;

export interface StatusJson {
  backendState: string;
  shieldsUp: boolean;
  exitNode: string | null;
  self: { ips: string[]; hostName: string; shortName: string; dnsName: string } | null;
  peers: {
    hostName: string;
    /** The name that resolves on its own, and the full one (src/control/device-names.ts). */
    shortName: string;
    dnsName: string;
    ips: string[];
    shared: boolean;
    exitNodeOption: boolean;
    id: string;
    routes: string[];
    /** Unix ms of the last WireGuard handshake with the peer, null before the first. */
    lastHandshake: number | null;
    path: 'direct' | 'relay' | 'none';
  }[];
  /** What the native fast path carried (null or absent: the JS datapath carries everything). */
  fastPath?: { sent: number; tunWrites: number; judged: number } | null;
  /** The gateway's mapping of the device's port (absent while the tunnel is down). */
  portMapping?: {
    mapping: { method: string; endpoint: string; lifetimeSeconds: number } | null;
    refused: { reason: string; count: number }[];
  };
}

export class MeshLab {
  readonly dir = mkdtempSync(join(tmpdir(), 'burrow-lab-'));
  readonly db = join(this.dir, 'burrow.db');
  /** The server's URL as devices are given it: by its name, if it has one. */
  readonly serverUrl: string;
  /** By its address, for the lab's own checks, which need no DNS. */
  private readonly serverAddressUrl: string;
  private nextHost = 10;
  private nextSubnet = 1;
  private serverProcess: ChildProcess | null = null;
  /** The DNS server devices made from now on resolve through (see startDns). */
  private resolver: string | null = null;

  private constructor(
    readonly hub: Netns,
    readonly internet: Netns,
    readonly serverNs: Netns,
    readonly serverIp: string,
    serverName: string | undefined,
  ) {
    this.serverAddressUrl = `http://${serverIp}:${SERVER_PORT}`;
    this.serverUrl = `http://${serverName ?? serverIp}:${SERVER_PORT}`;
  }

  /**
   * With `serverName`, devices are given the server by that name (as its public URL, so its relay
   * too), and need the lab's DNS server (startDns) to find it.
   */
  static async create(options: { serverName?: string } = {}): Promise<MeshLab> {
    const hub = await Netns.create('lhub');
    await hub.exec('ip', ['link', 'add', 'br0', 'type', 'bridge']);
    await hub.exec('ip', ['addr', 'add', '10.99.0.1/24', 'dev', 'br0']);
    await hub.exec('ip', ['link', 'set', 'br0', 'up']);
    await hub.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const internet = await Netns.create('linet');
    await linkTo(hub, internet, '198.51.100.1/24', '198.51.100.2/24');
    await internet.exec('ip', ['route', 'add', 'default', 'via', '198.51.100.1']);
    const serverNs = await Netns.create('lsrv');
    const lab = new MeshLab(hub, internet, serverNs, '10.99.0.2', options.serverName);
    await lab.attach(serverNs, '10.99.0.2');
    return lab;
  }

  /** Puts a namespace on the LAN with `ip`, its default route through the hub; returns its interface. */
  private async attach(ns: Netns, ip: string): Promise<string> {
    const hubEnd = uniqueName('lh');
    const hostEnd = uniqueName('lx');
    await run('ip', [
      'link',
      'add',
      hubEnd,
      'netns',
      this.hub.name,
      'type',
      'veth',
      'peer',
      'name',
      hostEnd,
      'netns',
      ns.name,
    ]);
    await this.hub.exec('ip', ['link', 'set', hubEnd, 'master', 'br0', 'up']);
    await ns.exec('ip', ['addr', 'add', `${ip}/24`, 'dev', hostEnd]);
    await ns.exec('ip', ['link', 'set', hostEnd, 'up']);
    await ns.exec('ip', ['route', 'add', 'default', 'via', '10.99.0.1']);
    return hostEnd;
  }

  /** Links a namespace to the hub on a subnet of its own, 10.98.K.2/24, routed by the hub; returns its interface. */
  private async attachRouted(ns: Netns, k: number): Promise<string> {
    const { bDev } = await link(this.hub, [`10.98.${k}.1/24`], ns, [`10.98.${k}.2/24`]);
    await ns.exec('ip', ['route', 'add', 'default', 'via', `10.98.${k}.1`]);
    return bDev;
  }

  /** Starts burrow-server, with STUN on UDP 3478 (the default) or `stunPort` (0: none). */
  async startServer(
    options: { stunPort?: number; relayLimits?: Record<string, number> } = {},
  ): Promise<void> {
    // Relay limits only go in a config file, which then names the database too.
    const config = join(this.dir, 'server.hujson');
    if (options.relayLimits)
      writeFileSync(config, JSON.stringify({ db: this.db, relayLimits: options.relayLimits }));
    const proc = this.serverNs.spawn(BURROW_SERVER, [
      'serve',
      ...(options.relayLimits ? ['--config', config] : ['--db', this.db]),
      '--listen',
      `0.0.0.0:${SERVER_PORT}`,
      '--public-url',
      this.serverUrl,
      ...(options.stunPort !== undefined ? ['--stun-port', String(options.stunPort)] : []),
    ]);
    this.serverProcess = proc;
    await waitFor(
      'burrow-server to answer',
      async () => {
        if (proc.exitCode !== null) throw new Error('burrow-server exited');
        const { stdout } = await this.serverNs.exec('curl', ['-sf', `${this.serverAddressUrl}/health`]);
        return stdout.includes('"ok":true');
      },
      60_000,
      100,
    );
  }

  /** burrow-server's process id, while it runs. */
  get serverPid(): number | undefined {
    return this.serverProcess?.pid;
  }

  /** burrow-server's /metrics, as name (with labels) -> value. */
  async metrics(): Promise<Map<string, number>> {
    const { stdout } = await this.serverNs.exec('curl', ['-sf', `${this.serverAddressUrl}/metrics`]);
    const values = new Map<string, number>();
    for (const line of stdout.split('\n')) {
      const m = /^([^#\s][^\s]*)\s+(\S+)$/.exec(line);
      if (m) values.set(m[1]!, Number(m[2]));
    }
    return values;
  }

  async stopServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.serverProcess;
    if (proc === null || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await exited;
    this.serverProcess = null;
  }

  /** `burrow-server ARGS... --db DB`, its stdout trimmed. */
  async admin(...args: string[]): Promise<string> {
    const { stdout } = await exec(BURROW_SERVER, [...args, '--db', this.db]);
    return stdout.trim();
  }

  /** Brings a device up as `user`'s, with a fresh one-off auth key; throws with burrow's reason. */
  async join(device: LabDevice, user: string): Promise<void> {
    const key = await this.admin('authkeys', 'create', '--user', user);
    const args = ['up', '--login-server', this.serverUrl, '--auth-key', key, '--hostname', device.name];
    const up = await device.burrow(...args);
    if (up.code !== 0) throw new Error(`${device.name}: burrow up failed: ${up.stderr}`);
  }

  /** `exit` advertises an exit node, the admin approves it, and `user` chooses it once offered. */
  async chooseExitNode(exit: LabDevice, user: LabDevice): Promise<void> {
    const advertise = await exit.burrow('set', '--advertise-exit-node=true');
    if (advertise.code !== 0) throw new Error(`${exit.name}: burrow set failed: ${advertise.stderr}`);
    const advertised = async () =>
      (await this.admin('devices', 'list', '--json')).includes('"advertisesExitNode": true');
    await waitFor(`${exit.name} to advertise`, advertised, 5_000);
    await this.admin('routes', 'approve', exit.name, '--exit-node');
    const offered = async () =>
      (await user.burrow('exit-node', 'list', '--json')).stdout.includes(`"hostName": "${exit.name}"`);
    await waitFor(`${user.name} to be offered ${exit.name}`, offered, 5_000);
    const choose = await user.burrow('set', `--exit-node=${exit.name}`);
    if (choose.code !== 0) throw new Error(`${user.name}: burrow set failed: ${choose.stderr}`);
  }

  /**
   * A DNS server on the internet host (dnsmasq at INTERNET_IP, as an ISP's resolver would be: past
   * an exit node, not on the LAN) that answers `names` (host name to IPv4 address, or addresses)
   * and refuses everything else. Devices made from now on resolve through it.
   */
  async startDns(names: Record<string, string | string[]>): Promise<void> {
    const records = Object.entries(names).flatMap(([name, ips]) =>
      [ips].flat().map((ip) => `--host-record=${name},${ip}`),
    );
    const dns = this.internet.spawn('dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      `--listen-address=${INTERNET_IP}`,
      '--pid-file=',
      '--user=root',
      ...records,
    ]);
    await waitFor(
      'dnsmasq to listen',
      async () => {
        if (dns.exitCode !== null) throw new Error('dnsmasq exited');
        return (await this.internet.exec('ss', ['-Hlun', 'sport', '53'])).stdout.includes(INTERNET_IP);
      },
      10_000,
    );
    this.resolver = INTERNET_IP;
  }

  /** A namespace on the LAN with nothing running in it (a LAN neighbour of the devices). */
  async lanHost(name: string): Promise<{ ns: Netns; lanIp: string }> {
    const ns = await Netns.create(`l${name.slice(0, 4)}`);
    const lanIp = `10.99.0.${this.nextHost++}`;
    await this.attach(ns, lanIp);
    return { ns, lanIp };
  }

  /**
   * Gives a device's namespace its own /etc/resolv.conf: the lab's DNS server once startDns ran,
   * else none at all. burrowd's MagicDNS rewrites the resolv.conf it sees, and a lab must never
   * reach the host's (a burrowd killed with the lab would leave it pointing at 100.100.100.100,
   * its backup deleted with the lab's directory).
   */
  private ownResolvConf(ns: Netns): void {
    if (this.resolver !== null) ns.setResolver(this.resolver);
    else ns.writeResolvConf('options timeout:1 attempts:1\n');
  }

  /** A device on the LAN, running burrowd (with `operator`: `--operator` that uid or user). */
  async device(name: string, options: { operator?: string } = {}): Promise<LabDevice> {
    const ns = await Netns.create(`l${name.slice(0, 4)}`);
    this.ownResolvConf(ns);
    const lanIp = `10.99.0.${this.nextHost++}`;
    await this.attach(ns, lanIp);
    return this.startDevice(name, ns, lanIp, options.operator);
  }

  /**
   * A device behind a NAT router of `nat`'s kind, running burrowd (with `env` added to its
   * environment; `router` as in natHost).
   */
  async natDevice(
    name: string,
    nat: NatKind,
    options: { env?: Record<string, string>; router?: RouterSetup } = {},
  ): Promise<NatDevice> {
    const host = await this.natHost(name, nat, options.router);
    return Object.assign(await this.startDevice(name, host.ns, host.lanIp, undefined, options.env), host);
  }

  /**
   * A namespace behind a NAT router of `nat`'s kind, with nothing running in it. `router`, if
   * given, sets the router up in place of nat-router.ts (test/support/portmap-router.ts).
   */
  async natHost(name: string, nat: NatKind, setup?: RouterSetup): Promise<NatHost> {
    const k = this.nextSubnet++;
    if (k > 254) throw new Error('MeshLab: out of private subnets');
    const router = await Netns.create(`lr${name.slice(0, 4)}`);
    // A bare router (a VPS gateway, a self-built router) gets a link of its own to the hub, which
    // routes: a hop between it and every other router, as across the internet, where a hole punch's
    // low-TTL first packet dies (helper/paths). The others share the lab LAN.
    const publicIp = nat === 'bare' ? `10.98.${k}.2` : `10.99.0.${this.nextHost++}`;
    const wan = nat === 'bare' ? await this.attachRouted(router, k) : await this.attach(router, publicIp);
    const ns = await Netns.create(`l${name.slice(0, 4)}`);
    this.ownResolvConf(ns);
    const { aDev: lan, bDev } = await link(router, [`192.168.${k}.1/24`], ns, [`192.168.${k}.2/24`]);
    await ns.exec('ip', ['route', 'add', 'default', 'via', `192.168.${k}.1`, 'dev', bDev]);
    if (setup === undefined) await configureNat(router, nat, wan, lan);
    else await setup({ router, wan, lan, publicIp, subnet: `192.168.${k}.0/24`, hub: this.hub });
    return {
      name,
      ns,
      lanIp: `192.168.${k}.2`,
      nat,
      router,
      publicIp,
      blockUdp: () => setUdpBlocked(router, true),
      unblockUdp: () => setUdpBlocked(router, false),
    };
  }

  /** Starts burrowd in `ns` and waits for its LocalAPI. */
  private async startDevice(
    name: string,
    ns: Netns,
    lanIp: string,
    operator?: string,
    env?: Record<string, string>,
  ): Promise<LabDevice> {
    const socket = join(this.dir, `${name}.sock`);
    const stateDir = join(this.dir, `${name}-state`);
    let log = '';
    const burrow = async (...args: string[]) => {
      try {
        const { stdout, stderr } = await ns.exec(BURROW, ['--socket', socket, ...args], {
          timeout: 60_000,
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        // burrow's own exit code and output (burrow trace prints its report and exits 1 when blocked).
        if (!(error instanceof CommandError)) throw error;
        return { code: error.code ?? 1, stdout: error.stdout, stderr: error.stderr || error.message };
      }
    };
    const start = async (waitForApi = true) => {
      const args = ['--state-dir', stateDir, '--socket', socket, '--tun', 'burrow0'];
      if (operator !== undefined) args.push('--operator', operator);
      const proc = ns.spawn(BURROWD, args, env ? { env: { ...process.env, ...env } } : {});
      proc.stdout?.on('data', (d) => (log += d));
      proc.stderr?.on('data', (d) => (log += d));
      if (!waitForApi) return proc;
      await waitFor(
        `burrowd ${name} to serve its LocalAPI`,
        async () => {
          if (proc.exitCode !== null) throw new Error(`burrowd ${name} exited: ${log}`);
          return (await burrow('status', '--json')).code === 0;
        },
        60_000,
        100,
      );
      return proc;
    };
    const device: LabDevice = {
      name,
      ns,
      lanIp,
      socket,
      process: await start(),
      restart: async (signal) => {
        await device.stop(signal);
        await device.start();
      },
      stop: async (signal = 'SIGTERM') => {
        const proc = device.process;
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill(signal);
        await exited;
      },
      start: async (options = {}) => {
        device.process = await start(options.waitForApi);
      },
      burrow,
      status: async () => {
        const r = await burrow('status', '--json');
        if (r.code !== 0) throw new Error(r.stderr);
        return JSON.parse(r.stdout) as StatusJson;
      },
      output: () => log,
    };
    return device;
  }

  async destroy(): Promise<void> {
    await this.stopServer();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function linkTo(hub: Netns, other: Netns, hubAddr: string, otherAddr: string): Promise<void> {
  const aDev = uniqueName('li');
  const bDev = uniqueName('lo');
  await run('ip', [
    'link',
    'add',
    aDev,
    'netns',
    hub.name,
    'type',
    'veth',
    'peer',
    'name',
    bDev,
    'netns',
    other.name,
  ]);
  await hub.exec('ip', ['addr', 'add', hubAddr, 'dev', aDev]);
  await hub.exec('ip', ['link', 'set', aDev, 'up']);
  await other.exec('ip', ['addr', 'add', otherAddr, 'dev', bDev]);
  await other.exec('ip', ['link', 'set', bDev, 'up']);
}
