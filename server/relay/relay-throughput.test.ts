import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { randomBytes } from '../../src/crypto/index.js';
import { connectedDevice, runCleanups, startTestRelay, waitFor } from '../../test/support/relay-lab.js';

afterEach(runCleanups);

// Printed, not asserted: loopback throughput depends on the machine and on what else runs on it.
it('reports relay throughput for 1400-byte packets over loopback', async () => {
  const relay = await startTestRelay({
    bytesPerSecond: 1e10,
    byteBurst: 1e9,
    packetsPerSecond: 1e8,
    packetBurst: 1e7,
    maxQueueBytes: 4 << 20,
  });
  const a = await connectedDevice(relay);
  const b = await connectedDevice(relay);
  let receivedBytes = 0;
  b.client.onPacket((_src, packet) => {
    receivedBytes += packet.length;
  });
  const packet = randomBytes(1400);
  const durationMs = 2000;
  const start = performance.now();
  // The sender offers packets as fast as its socket takes them, yielding to I/O when it is full.
  while (performance.now() - start < durationMs) {
    for (let i = 0; i < 64; i++) if (!a.client.send(b.node.publicKey, packet)) break;
    await nextTurn();
  }
  const sent = a.client.stats().sentPackets;
  await waitFor(
    'the tail to arrive',
    () => b.client.stats().receivedPackets + relay.relay.stats().dropped.queueFull >= sent,
    10_000,
  );
  const seconds = (performance.now() - start) / 1000;
  const mbps = receivedBytes / seconds / 1e6;
  console.log(
    `relay throughput: ${mbps.toFixed(1)} MB/s (${(mbps * 8).toFixed(0)} Mbit/s), ` +
      `${Math.round(b.client.stats().receivedPackets / seconds)} packets/s of 1400 bytes; ` +
      `relay queue drops ${relay.relay.stats().dropped.queueFull}, sender drops ${a.client.stats().dropped.queueFull}`,
  );
  expect(receivedBytes).toBeGreaterThan(0);
});
