/**
 * Exit nodes through trouble, between real processes: burrow-server, one burrowd per device (each
 * in its own namespace, on the lab LAN), driven through the burrow CLI.
 *
 * Cast (alice's, network "home"): C, which serves as an exit node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';

const T = 120_000;
const FORWARDING = ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'];

describe.skipIf(!isRoot())('exit nodes, end to end', () => {
  let lab: MeshLab;
  let C: LabDevice;
  const forwarding = (d: LabDevice) =>
    Promise.all(FORWARDING.map(async (key) => (await d.ns.exec('sysctl', ['-n', key])).stdout.trim()));
  const running = (d: LabDevice) =>
    waitFor(`${d.name} running`, async () => (await d.status()).backendState === 'running', 20_000);

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'home');
    await lab.startServer();
    C = await lab.device('c');
    await lab.join(C, 'alice');
    await running(C);
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

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
