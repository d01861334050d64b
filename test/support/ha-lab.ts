/**
 * Several burrow-server instances on one PostgreSQL database, as real processes, for the tests of
 * issue 19: a throwaway cluster (server/store/test-support/pg-cluster.ts), one config file per
 * instance (the database and the one key file they share), the admin CLI on the database, and
 * HAProxy in front of the instances, run in the foreground as a child process. The instances and
 * HAProxy start in a namespace the caller gives, and cleanupAll() removes them with it; `stop`
 * removes the cluster and the files.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type PgCluster, startPgCluster } from '../../server/store/test-support/pg-cluster.js';
import type { LabDevice, MeshLab } from './mesh-lab.js';
import type { Netns } from './netns.js';
import { waitFor } from './netns.js';
import { BURROW_SERVER } from './programs.js';

const exec = promisify(execFile);

export interface InstanceConfig {
  /** HOST:PORT the instance listens on. */
  listen: string;
  /** The instance's own URL: its relay region's (server/README.md). */
  publicUrl: string;
  /** STUN's UDP port, 0 for none. */
  stunPort: number;
  /** The instance's relay region: each instance on one database has its own. */
  region: { id: number; name: string };
}

export class HaDatabase {
  private constructor(
    readonly dir: string,
    private readonly pg: PgCluster,
    /** The database's postgres:// URL, as the instances and the admin CLI are given it. */
    readonly url: string,
  ) {}

  /** A fresh cluster with an empty database, and a directory for the config and key files. */
  static async create(): Promise<HaDatabase> {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-ha-'));
    let pg: PgCluster | undefined;
    try {
      pg = await startPgCluster();
      await pg.psql('CREATE DATABASE burrow');
    } catch (error) {
      await pg?.stop();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return new HaDatabase(dir, pg, `postgres://${pg.user}@/burrow?host=${encodeURIComponent(pg.dir)}`);
  }

  /** Writes instance `name`'s config file (this database, the shared key); returns its path. */
  config(name: string, instance: InstanceConfig): string {
    const path = join(this.dir, `${name}.hujson`);
    const config = { database: this.url, keyFile: join(this.dir, 'server.key'), ...instance };
    writeFileSync(path, JSON.stringify(config));
    return path;
  }

  /** `burrow-server ARGS... --db URL` on this database: its stdout, trimmed. */
  async admin(...args: string[]): Promise<string> {
    const { stdout } = await exec(BURROW_SERVER, [...args, '--db', this.url]);
    return stdout.trim();
  }

  /** `burrow up` on `device` with a fresh auth key of `user`, against `loginServer` (one URL or several). */
  async up(device: LabDevice, loginServer: string, user = 'alice'): Promise<void> {
    const key = await this.admin('authkeys', 'create', '--user', user);
    const done = await device.burrow(
      'up',
      '--login-server',
      loginServer,
      '--auth-key',
      key,
      '--hostname',
      device.name,
    );
    if (done.code !== 0) throw new Error(`${device.name}: burrow up failed: ${done.stderr}`);
  }

  /** Stops the database as a crash would (`pg_ctl stop -m immediate`: connections cut), keeping its data. */
  pause(): Promise<void> {
    return this.pg.pause();
  }

  /** Starts the paused database again. */
  resume(): Promise<void> {
    return this.pg.resume();
  }

  /** Stops the cluster and removes it and the files. */
  async stop(): Promise<void> {
    try {
      await this.pg.stop();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/**
 * HAProxy's config for burrow-server instances (as server/README.md shows it): TCP mode, long
 * client and server timeouts for the streaming control connection, health checks on /health
 * every 500 ms (down after 2 failures, which closes the connections through it), and a connection
 * that finds an instance dead redispatched to another. No global section: no daemon, user, chroot or stats socket, nothing outside `dir`.
 */
export function haproxyConfig(bind: string, servers: { name: string; address: string }[]): string {
  return [
    'defaults',
    '    mode tcp',
    '    timeout connect 2s',
    '    timeout client 1h',
    '    timeout server 1h',
    '    retries 2',
    '    option redispatch',
    'frontend burrow',
    `    bind ${bind}`,
    '    default_backend instances',
    'backend instances',
    '    balance leastconn',
    '    option httpchk GET /health',
    // 503 is a live instance serving read-only while the database is unreachable (server/README.md).
    '    http-check expect status 200,503',
    '    default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions',
    ...servers.map((s) => `    server ${s.name} ${s.address} check`),
    '',
  ].join('\n');
}

/** Collects a child's output, for the error when it exits early. */
export function captureOutput(child: ChildProcess): () => string {
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  return () => output;
}

/** `haproxy -db -f PATH` (foreground, this config only): the arguments for a spawn. */
export const haproxyArgs = (configPath: string): [string, string[]] => ['haproxy', ['-db', '-f', configPath]];

/** A burrow-server instance running on a lab host. */
export interface RunningInstance {
  process: ChildProcess;
  /** What it printed so far, for the error when it exits early. */
  output: () => string;
}

/** `burrow-server serve --config CONFIG` in `ns`; settles once `http://IP:PORT/health` answers 200. */
export async function startInstance(
  ns: Netns,
  name: string,
  address: string,
  config: string,
): Promise<RunningInstance> {
  const process = ns.spawn(BURROW_SERVER, ['serve', '--config', config]);
  const output = captureOutput(process);
  await waitFor(
    `instance ${name} to answer`,
    async () => {
      if (process.exitCode !== null || process.signalCode !== null)
        throw new Error(`burrow-server ${name} exited: ${output()}`);
      await ns.exec('curl', ['-sf', '--max-time', '2', `http://${address}/health`]);
      return true;
    },
    60_000,
    100,
  );
  return { process, output };
}

/**
 * HAProxy in `ns`, bound to `bind` (HOST:PORT) in front of `servers`, its config in `dir`; settles
 * once it passes /health through to an instance.
 */
export async function startHaproxy(
  ns: Netns,
  bind: string,
  dir: string,
  servers: { name: string; address: string }[],
): Promise<ChildProcess> {
  const configPath = join(dir, 'haproxy.cfg');
  writeFileSync(configPath, haproxyConfig(bind, servers));
  const [cmd, args] = haproxyArgs(configPath);
  const haproxy = ns.spawn(cmd, args);
  const output = captureOutput(haproxy);
  await waitFor(
    'HAProxy to pass /health through',
    async () => {
      if (haproxy.exitCode !== null) throw new Error(`haproxy exited: ${output()}`);
      await ns.exec('curl', ['-sf', '--max-time', '2', `http://${bind}/health`]);
      return true;
    },
    20_000,
    100,
  );
  return haproxy;
}

/** An instance of `startBehindHaproxy`: its host on the lab LAN, its config, and the process now running it. */
export interface LabInstance extends RunningInstance {
  name: string;
  ns: Netns;
  ip: string;
  config: string;
}

/**
 * Instances `one` and `two` on `db`, each on a host of its own on the lab LAN with its own relay
 * region, listening on `port`, started one after the other (the first makes the tables and the
 * shared key file); then HAProxy where the lab's server would be (lab.serverUrl) in front of them.
 */
export async function startBehindHaproxy(
  db: HaDatabase,
  lab: MeshLab,
  port: number,
  stunPort: number,
): Promise<LabInstance[]> {
  const instances: LabInstance[] = [];
  for (const [id, name] of ['one', 'two'].entries()) {
    const host = await lab.lanHost(name);
    const config = db.config(name, {
      listen: `0.0.0.0:${port}`,
      publicUrl: `http://${host.lanIp}:${port}`,
      stunPort,
      region: { id: id + 1, name },
    });
    const running = await startInstance(host.ns, name, `${host.lanIp}:${port}`, config);
    instances.push({ name, ns: host.ns, ip: host.lanIp, config, ...running });
  }
  const servers = instances.map((i) => ({ name: i.name, address: `${i.ip}:${port}` }));
  await startHaproxy(lab.serverNs, `${lab.serverIp}:${port}`, db.dir, servers);
  return instances;
}
