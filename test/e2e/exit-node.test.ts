/**
 * Exit nodes through trouble, between real processes: burrow-server, one burrowd per device (each
 * in its own namespace, on the lab LAN), driven through the burrow CLI. Devices know the server by
 * its name, control.lab, which the lab's DNS server (dnsmasq on the internet host, past any exit
 * node) answers.
 *
 * Cast (alice's, network "home"): A, a laptop; C, which serves as an exit node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNET_IP, type LabDevice, MeshLab, type StatusJson } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';

const T = 120_000;
const FORWARDING = ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'];
const SERVER_NAME = 'control.lab';
const WEB = `http://${INTERNET_IP}/`;

describe.skipIf(!isRoot())('exit nodes, end to end', () => {
  let lab: MeshLab;
  let A: LabDevice;
  let C: LabDevice;
  const forwarding = (d: LabDevice) =>
    Promise.all(FORWARDING.map(async (key) => (await d.ns.exec('sysctl', ['-n', key])).stdout.trim()));
  const running = (d: LabDevice) =>
    waitFor(`${d.name} running`, async () => (await d.status()).backendState === 'running', 20_000);
  /** The address the internet host saw the request come from, or null. */
  const web = (from: LabDevice, seconds = 2) =>
    from.ns.exec('curl', ['-s', '--max-time', String(seconds), WEB]).then(
      (r) => r.stdout,
      () => null,
    );
  const statusOf = async (d: LabDevice) =>
    (await d.status()) as StatusJson & { controlConnected: boolean; health: string[] };
  const table52 = async (d: LabDevice) => (await d.ns.exec('ip', ['route', 'show', 'table', '52'])).stdout;
  const resolves = (d: LabDevice, name: string) =>
    d.ns.exec('getent', ['ahosts', name]).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    lab = await MeshLab.create({ serverName: SERVER_NAME });
    await lab.startDns({ [SERVER_NAME]: lab.serverIp });
    await lab.admin('users', 'create', 'alice', '--network', 'home');
    await lab.startServer();
    A = await lab.device('a');
    C = await lab.device('c');
    for (const d of [A, C]) await lab.join(d, 'alice');
    await Promise.all([A, C].map(running));
    lab.internet.spawn('node', [
      '-e',
      `require('node:http').createServer((q, r) => r.end(q.socket.remoteAddress)).listen(80, '${INTERNET_IP}')`,
    ]);
    await waitFor('the internet host', async () => (await web(A)) === A.lanIp, 10_000);
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'stranded behind a missing exit node, A keeps the server and its relay by their last known addresses, across a restart too',
    async () => {
      await lab.chooseExitNode(C, A);
      await waitFor('A to reach the internet through C', async () => (await web(A)) === C.lanIp, 10_000);
      const bypass = `throw ${lab.serverIp} `;
      expect(await table52(A)).toContain(bypass);
      // C stops offering itself: A's internet traffic is blocked, its DNS queries included.
      expect((await C.burrow('set', '--advertise-exit-node=false')).code).toBe(0);
      await waitFor(
        'A to miss its exit node',
        async () => (await statusOf(A)).health.some((h) => h.startsWith('exit node unavailable')),
        10_000,
      );
      expect(await resolves(A, SERVER_NAME)).toBe(false);
      expect(await web(A)).toBeNull();
      // Yet the server stays reachable: its route out of the tunnel stays, and a restart (new
      // connections, DNS still cut off) finds the server and its relay where they last were.
      expect(await table52(A)).toContain(bypass);
      const relayConnects = () => A.output().split('relay burrow-server: connected').length;
      const before = relayConnects();
      await A.restart();
      await waitFor(
        'A connected to the server again',
        async () => (await statusOf(A)).controlConnected,
        20_000,
      );
      await waitFor('A connected to the relay again', async () => relayConnects() > before, 20_000);
      expect(await table52(A)).toContain(bypass);
      // So A hears at once when C offers itself again.
      expect((await C.burrow('set', '--advertise-exit-node=true')).code).toBe(0);
      await waitFor('A through C again', async () => (await web(A)) === C.lanIp, 15_000);
      expect(await resolves(A, SERVER_NAME)).toBe(true);
      expect((await A.burrow('set', '--exit-node=')).code).toBe(0);
      expect((await C.burrow('set', '--advertise-exit-node=false')).code).toBe(0);
    },
    T,
  );

  it(
    'forwarding: after a kill -9 of an exit node, it is put back as it was before burrowd turned it on',
    async () => {
      // The admin forwards IPv6 on this machine, not IPv4.
      await C.ns.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=0', 'net.ipv6.conf.all.forwarding=1']);
      expect((await C.burrow('set', '--advertise-exit-node=true')).code).toBe(0);
      await waitFor('forwarding on', async () => (await forwarding(C)).join() === '1,1', 5_000);
      await C.restart('SIGKILL'); // no chance to put anything back
      await running(C);
      expect(await forwarding(C)).toEqual(['1', '1']); // still advertising: it serves again
      // When it stops serving, forwarding is as it was before the killed instance turned it on,
      // not the "on" that instance left behind.
      expect((await C.burrow('set', '--advertise-exit-node=false')).code).toBe(0);
      await waitFor('forwarding as before', async () => (await forwarding(C)).join() === '0,1', 5_000);
      expect((await C.ns.exec('nft', ['list', 'tables'])).stdout).not.toContain('burrow_exit');
    },
    T,
  );
});
