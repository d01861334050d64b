/**
 * A 10 s PostgreSQL outage under a running mesh: two real burrow-server instances on one throwaway
 * cluster, behind HAProxy (test/support/ha-lab.ts), two real burrowd in namespaces (one on
 * HAProxy's URL, one on both instances' URLs), the admin CLI. The cluster is stopped with
 * `pg_ctl stop -m immediate` and started again. Meanwhile the tunnels keep working, the devices
 * keep their streams, /health says 503 (and HAProxy keeps the instances in), and an admin change
 * is refused saying the database is unreachable; the instances survive it (a pooled connection's
 * 'error' event would otherwise take them down), and a change made once the database is back
 * reaches every device, without a restart.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaDatabase, type LabInstance, startBehindHaproxy } from '../support/ha-lab.js';
import { type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, type Netns, waitFor } from '../support/netns.js';
import { BURROW_SERVER } from '../support/programs.js';

const exec = promisify(execFile);
const PORT = 8080;
const OUTAGE_MS = 10_000;

describe.skipIf(!isRoot())('a 10 s database outage under two instances behind HAProxy', () => {
  let db: HaDatabase;
  let lab: MeshLab;
  let instances: LabInstance[];
  let A: LabDevice;
  let B: LabDevice;

  /** `burrow-server ARGS... --db URL`: its exit code and output (never rejects). */
  const admin = (...args: string[]) =>
    exec(BURROW_SERVER, [...args, '--db', db.url]).then(
      ({ stdout, stderr }) => ({ code: 0, stdout: stdout.trim(), stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof error.code === 'number' ? error.code : -1,
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
      }),
    );
  const curl = async (ns: Netns, url: string) =>
    (await ns.exec('curl', ['-s', '--max-time', '3', '-w', '\n%{http_code}', url])).stdout;
  /** /health's status code from `i`, asked on its own host. */
  const health = async (i: LabInstance) =>
    (await curl(i.ns, `http://${i.ip}:${PORT}/health`)).split('\n').at(-1);
  const streams = async (i: LabInstance) =>
    Number(/^burrow_control_streams (\d+)$/m.exec(await curl(i.ns, `http://${i.ip}:${PORT}/metrics`))?.[1]);
  const alive = (i: LabInstance) => i.process.exitCode === null && i.process.signalCode === null;
  const ping = (from: LabDevice, to: string) =>
    from.ns.exec('ping', ['-c', '1', '-W', '2', to]).then(
      () => true,
      () => false,
    );
  const ipv4 = async (d: LabDevice) => (await d.status()).self!.ips.find((ip) => !ip.includes(':'))!;
  beforeAll(async () => {
    db = await HaDatabase.create();
    lab = await MeshLab.create();
    instances = await startBehindHaproxy(db, lab, PORT, 0);
    await db.admin('users', 'create', 'alice', '--network', 'home');
    [A, B] = (await Promise.all(['a', 'b'].map((n) => lab.device(n)))) as [LabDevice, LabDevice];
    await db.up(A, lab.serverUrl);
    await db.up(B, instances.map((i) => `http://${i.ip}:${PORT}`).join(','));
  }, 240_000);

  afterAll(async () => {
    await cleanupAll(); // HAProxy, the instances and burrowd, with their namespaces
    await lab?.destroy();
    await db?.stop();
  }, 60_000);

  it('keeps tunnels and streams up, refuses admin changes saying why, survives, and catches up once it is back', async () => {
    const [aIp, bIp] = [await ipv4(A), await ipv4(B)];
    await waitFor('A to reach B through the tunnel', () => ping(A, bIp), 30_000);
    const streaming = async () => (await Promise.all(instances.map(streams))).reduce((x, y) => x + y);
    await waitFor('both devices streaming', async () => (await streaming()) === 2, 10_000);

    await db.pause();
    const down = Date.now();
    for (const i of instances)
      await waitFor(`${i.name}'s /health to say 503`, async () => (await health(i)) === '503', 5_000);
    const refused = await admin('devices', 'rename', 'b', 'bee');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^burrow-server: the database is unreachable/);
    let rounds = 0;
    while (Date.now() - down < OUTAGE_MS) {
      expect(await ping(A, bIp)).toBe(true);
      expect(await ping(B, aIp)).toBe(true);
      rounds++;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(rounds).toBeGreaterThan(5);
    // Still streaming, through HAProxy too: it accepts /health's 503 as alive.
    expect(await streaming()).toBe(2);
    expect(instances.filter(alive).map((i) => i.name)).toEqual(['one', 'two']);

    await db.resume();
    for (const i of instances)
      await waitFor(`${i.name}'s /health to say 200`, async () => (await health(i)) === '200', 10_000);
    for (const i of instances) {
      expect(alive(i)).toBe(true);
      expect(i.output()).toMatch(/database is unreachable/);
      expect(i.output()).toMatch(/database reachable again/);
    }
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
