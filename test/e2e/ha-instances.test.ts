/**
 * Two burrow-server instances on one PostgreSQL database, behind HAProxy, with real burrowd devices:
 * one knows only HAProxy's URL, the other both instances' own URLs. Each instance and HAProxy on a
 * host (namespace) of its own on the lab LAN (support/mesh-lab.ts). `kill -9` of the instance both
 * stream from: within 5 s they reconnect to the other (through HAProxy, and to the next URL), a
 * ping between them never stops (the tunnels keep their peers), and a rename made meanwhile
 * reaches both. Then an instance that freezes (SIGSTOP), closing nothing: HAProxy's health check
 * takes it out and closes the streams through it, and the device on HAProxy's URL resyncs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaDatabase, type LabInstance, startBehindHaproxy, startInstance } from '../support/ha-lab.js';
import { type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { CommandError, cleanupAll, isRoot, waitFor } from '../support/netns.js';

const PORT = 8080;

const exited = (i: LabInstance) => i.process.exitCode !== null || i.process.signalCode !== null;

/** Starts a stopped instance again, as it was configured. */
async function restart(i: LabInstance): Promise<void> {
  Object.assign(i, await startInstance(i.ns, i.name, `${i.ip}:${PORT}`, i.config));
}

describe.skipIf(!isRoot())('two instances behind HAProxy, end to end', () => {
  let db: HaDatabase;
  let lab: MeshLab;
  let instances: LabInstance[];
  let A: LabDevice;
  let B: LabDevice;
  /** HAProxy's URL. */
  let url: string;

  /** burrow_control_streams of a live instance: how many devices stream their map from it. */
  const streams = async (i: LabInstance): Promise<number> => {
    const { stdout } = await i.ns.exec('curl', ['-sf', '--max-time', '2', `http://${i.ip}:${PORT}/metrics`]);
    const m = /^burrow_control_streams (\d+)$/m.exec(stdout);
    if (!m) throw new Error(`no burrow_control_streams in ${i.name}'s metrics`);
    return Number(m[1]);
  };
  const ipOf = async (d: LabDevice) => (await d.status()).self!.ips[0]!;
  beforeAll(async () => {
    db = await HaDatabase.create();
    lab = await MeshLab.create();
    url = lab.serverUrl; // HAProxy sits where the lab's server would: 10.99.0.2:8080
    instances = await startBehindHaproxy(db, lab, PORT, 3478);

    await db.admin('users', 'create', 'alice', '--network', 'team');
    [A, B] = (await Promise.all(['a', 'b'].map((n) => lab.device(n)))) as [LabDevice, LabDevice];
    // A knows HAProxy's URL; B the two instances' own URLs, first the one A streams from (so that
    // the kill below cuts both, and each comes back its own way).
    await db.up(A, url);
    const first = await waitFor('A streaming', async () => {
      const counts = await Promise.all(instances.map(streams));
      return counts.includes(1) ? instances[counts.indexOf(1)] : undefined;
    });
    const rest = instances.filter((i) => i !== first);
    await db.up(B, [first, ...rest].map((i) => `http://${i.ip}:${PORT}`).join(','));
  }, 240_000);

  afterAll(async () => {
    await cleanupAll(); // HAProxy, the instances and burrowd, with their namespaces
    await lab?.destroy();
    await db?.stop();
  }, 60_000);

  it('kill -9 of the instance devices stream from: both reconnect within 5 s, keep their tunnels, and get a rename made meanwhile', async () => {
    const [aIp, bIp] = [await ipOf(A), await ipOf(B)];
    await waitFor(
      'A and B to reach each other directly',
      async () => {
        const [a, b] = [await A.status(), await B.status()];
        return a.peers[0]?.path === 'direct' && b.peers[0]?.path === 'direct';
      },
      30_000,
      200,
    );
    await waitFor(
      'both devices streaming',
      async () => (await Promise.all(instances.map(streams))).reduce((x, y) => x + y) === 2,
      10_000,
    );
    const counts = await Promise.all(instances.map(streams));
    expect(counts.sort()).toEqual([0, 2]); // both on one instance: A by HAProxy's choice, B by its list
    const victim = (await streams(instances[0]!)) === 2 ? instances[0]! : instances[1]!;
    const survivor = victim === instances[0] ? instances[1]! : instances[0]!;
    const pids = [A.process.pid, B.process.pid];

    // A ping every 200 ms through the tunnel, from before the kill until well after.
    const pinging = A.ns
      .exec('ping', ['-n', '-i', '0.2', '-c', '40', '-W', '1', bIp], { timeout: 30_000 })
      .catch((error) => (error instanceof CommandError ? { stdout: error.stdout } : Promise.reject(error)));
    await new Promise((r) => setTimeout(r, 1000));

    // The rename starts as the instance dies: the admin CLI takes a moment to start, so it lands
    // while the devices it streamed to are reconnecting.
    const killedAt = Date.now();
    const renamed = db.admin('devices', 'rename', 'b', 'bee');
    victim.process.kill('SIGKILL');
    await renamed;

    await waitFor(
      'every device streaming from the survivor',
      async () => (await streams(survivor)) === 2,
      5_000,
      50,
    );
    const reconnectMs = Date.now() - killedAt;
    await waitFor(
      'the rename on both devices',
      async () =>
        (await A.status()).peers[0]?.hostName === 'bee' && (await B.status()).self?.hostName === 'bee',
      Math.max(0, 5_000 - (Date.now() - killedAt)),
      50,
    );
    const caughtUpMs = Date.now() - killedAt;
    for (const d of [A, B]) {
      const status = JSON.parse((await d.burrow('status', '--json')).stdout) as { controlConnected: boolean };
      expect(status.controlConnected, d.name).toBe(true);
    }

    const { stdout } = await pinging;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(stdout);
    expect(m, stdout).not.toBeNull();
    expect(Number(m![2]), stdout).toBe(Number(m![1])); // not one ping lost: the tunnel never noticed
    expect(exited(victim)).toBe(true);
    expect([A.process.pid, B.process.pid]).toEqual(pids); // the same burrowd processes throughout
    expect(await ipOf(A)).toBe(aIp); // and the same addresses
    expect(reconnectMs).toBeLessThan(5_000);
    expect(caughtUpMs).toBeLessThan(5_000);
    console.log(`both reconnected ${reconnectMs} ms after kill -9, rename seen after ${caughtUpMs} ms`);
  }, 120_000);

  it('an instance that freezes (its connections stay open, nothing answers): HAProxy marks it down and closes them, and the device on its URL resyncs within 5 s', async () => {
    for (const i of instances) if (exited(i)) await restart(i); // the one killed above comes back
    await new Promise((r) => setTimeout(r, 2000)); // HAProxy's two good checks
    const counts = await Promise.all(instances.map(streams));
    expect([...counts].sort()).toEqual([0, 2]);
    const frozen = counts[0] === 2 ? instances[0]! : instances[1]!;
    const other = frozen === instances[0] ? instances[1]! : instances[0]!;
    const pinging = A.ns
      .exec('ping', ['-n', '-i', '0.2', '-c', '40', '-W', '1', await ipOf(B)], { timeout: 30_000 })
      .catch((error) => (error instanceof CommandError ? { stdout: error.stdout } : Promise.reject(error)));
    await new Promise((r) => setTimeout(r, 1000));

    // SIGSTOP: as a machine that hangs or falls off the network, it closes nothing.
    const frozenAt = Date.now();
    const renamed = db.admin('devices', 'rename', 'bee', 'bumble');
    frozen.process.kill('SIGSTOP');
    try {
      await renamed;
      await waitFor(
        'A streaming from the other instance',
        async () => (await streams(other)) === 1,
        5_000,
        50,
      );
      await waitFor(
        'the rename on A',
        async () => (await A.status()).peers[0]?.hostName === 'bumble',
        Math.max(0, 5_000 - (Date.now() - frozenAt)),
        50,
      );
      const caughtUpMs = Date.now() - frozenAt;
      const { stdout } = await pinging;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(stdout);
      expect(m, stdout).not.toBeNull();
      expect(Number(m![2]), stdout).toBe(Number(m![1]));
      expect(caughtUpMs).toBeLessThan(5_000);
      console.log(`A resynced through HAProxy ${caughtUpMs} ms after its instance froze`);
    } finally {
      frozen.process.kill('SIGKILL');
    }
  }, 120_000);
});
