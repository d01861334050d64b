/**
 * A 10 s PostgreSQL outage under a running mesh: the real burrow-server (on a throwaway cluster,
 * stopped with `pg_ctl stop -m immediate` and started again), two real burrowd in namespaces, the
 * admin CLI. While the database is away the tunnels keep working, /health says 503, and an admin
 * change is refused saying the database is unreachable; the server process survives it (a pooled
 * connection's 'error' event would otherwise take it down), and a change made once the database is
 * back reaches every device, without a restart.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgCluster, startPgCluster } from '../../server/store/test-support/pg-cluster.js';
import { type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';
import { BURROW_SERVER } from '../support/programs.js';

const exec = promisify(execFile);
const OUTAGE_MS = 10_000;

describe.skipIf(!isRoot())('a 10 s database outage under a running mesh', () => {
  let pg: PgCluster;
  let lab: MeshLab;
  let server: ChildProcess;
  let serverLog = '';
  let db: string;
  let A: LabDevice;
  let B: LabDevice;

  /** `burrow-server ARGS... --db DB`: its exit code and output (never rejects). */
  const admin = (...args: string[]) =>
    exec(BURROW_SERVER, [...args, '--db', db]).then(
      ({ stdout, stderr }) => ({ code: 0, stdout: stdout.trim(), stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof error.code === 'number' ? error.code : -1,
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
      }),
    );
  /** /health's status code, asked from the server's namespace. */
  const health = async () =>
    (await lab.serverNs.exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${healthUrl()}`]))
      .stdout;
  const healthUrl = () => `${lab.serverUrl}/health`;
  const ping = (from: LabDevice, to: string) =>
    from.ns.exec('ping', ['-c', '1', '-W', '2', to]).then(
      () => true,
      () => false,
    );
  const ipv4 = async (d: LabDevice) => (await d.status()).self!.ips.find((ip) => !ip.includes(':'))!;

  beforeAll(async () => {
    pg = await startPgCluster();
    await pg.psql('CREATE DATABASE burrow');
    db = `postgres://${pg.user}@/burrow?host=${encodeURIComponent(pg.dir)}`;
    lab = await MeshLab.create();
    const config = join(lab.dir, 'server.hujson');
    writeFileSync(config, JSON.stringify({ database: db, keyFile: join(lab.dir, 'server.key') }));
    server = lab.serverNs.spawn(BURROW_SERVER, [
      'serve',
      '--config',
      config,
      '--listen',
      '0.0.0.0:8080',
      '--public-url',
      lab.serverUrl,
      '--stun-port',
      '0',
    ]);
    server.stderr?.on('data', (chunk: Buffer) => {
      serverLog += chunk.toString();
    });
    await waitFor(
      'burrow-server to answer',
      async () => {
        if (server.exitCode !== null) throw new Error(`burrow-server exited: ${serverLog}`);
        return (await health()) === '200';
      },
      60_000,
      100,
    );
    expect((await admin('users', 'create', 'alice', '--network', 'home')).code).toBe(0);
    A = await lab.device('a');
    B = await lab.device('b');
    for (const d of [A, B]) {
      const key = await admin('authkeys', 'create', '--user', 'alice');
      const up = await d.burrow(
        'up',
        '--login-server',
        lab.serverUrl,
        '--auth-key',
        key.stdout,
        '--hostname',
        d.name,
      );
      if (up.code !== 0) throw new Error(`${d.name}: burrow up failed: ${up.stderr}`);
    }
  }, 180_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await lab?.destroy();
    await cleanupAll();
    await pg?.stop();
  }, 60_000);

  it('keeps the tunnels up, refuses admin changes saying why, survives, and catches up once it is back', async () => {
    const bIp = await ipv4(B);
    const aIp = await ipv4(A);
    await waitFor('A to reach B through the tunnel', () => ping(A, bIp), 30_000);

    await pg.pause();
    const down = Date.now();
    await waitFor(
      '/health to say the database is unreachable',
      async () => (await health()) === '503',
      5_000,
    );
    const refused = await admin('devices', 'rename', 'b', 'bee');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^burrow-server: the database is unreachable/);
    let pings = 0;
    while (Date.now() - down < OUTAGE_MS) {
      expect(await ping(A, bIp)).toBe(true);
      expect(await ping(B, aIp)).toBe(true);
      pings++;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(pings).toBeGreaterThan(5);
    expect(server.exitCode).toBeNull();

    await pg.resume();
    await waitFor('/health to say the database is back', async () => (await health()) === '200', 10_000);
    expect(server.exitCode).toBeNull();
    expect(serverLog).toMatch(/database is unreachable/);
    expect(serverLog).toMatch(/database reachable again/);
    const renamed = await admin('devices', 'rename', 'b', 'bee');
    expect(renamed.code, renamed.stderr).toBe(0);
    for (const d of [A, B]) {
      await waitFor(
        `${d.name} to see the rename`,
        async () => {
          const status = await d.status();
          return [status.self?.hostName, ...status.peers.map((p) => p.hostName)].includes('bee');
        },
        10_000,
      );
    }
    expect(await ping(A, bIp)).toBe(true);
  }, 120_000);
});
