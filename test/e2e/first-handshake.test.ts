/**
 * burrow up starts the WireGuard handshake with the peers that are online as soon as the map
 * arrives, so that the user's first packet finds a session instead of waiting a round trip for
 * one. Between real processes: burrow-server and two burrowd on the lab LAN, and no packet sent
 * between the two devices at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabDevice, MeshLab } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';

const handshakeWith = async (device: LabDevice, peer: string) =>
  (await device.status()).peers.find((p) => p.hostName === peer)?.lastHandshake ?? null;

describe.skipIf(!isRoot())('the first handshake, end to end', () => {
  let lab: MeshLab;
  let A: LabDevice;
  let B: LabDevice;

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice');
    await lab.startServer();
    A = await lab.device('a');
    B = await lab.device('b');
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it('a new device handshakes with the online peers in its first map, before any packet', async () => {
    await lab.join(A, 'alice');
    await lab.join(B, 'alice'); // A is online in B's first map
    await waitFor('B to handshake with A', async () => (await handshakeWith(B, 'a')) !== null, 5000, 100);
    expect(await handshakeWith(A, 'b')).not.toBeNull();
  }, 60_000);

  it('so does a device brought up again from the map it kept (burrow down, burrow up)', async () => {
    expect((await A.burrow('down')).code).toBe(0);
    expect((await A.burrow('up')).code).toBe(0);
    // A fresh tunnel: whatever handshake it reports, it made since this up.
    await waitFor('A to handshake with B', async () => (await handshakeWith(A, 'b')) !== null, 5000, 100);
  }, 60_000);
});
