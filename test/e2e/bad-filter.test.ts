/**
 * A packet filter burrowd cannot use, sent by the control server, must not stop the rest of the
 * map. Two real burrowd (A and B, in namespaces on the lab LAN) follow a scripted control server
 * (the real protocol listener, test/support/scripted-control.ts): burrow-server itself checks
 * every policy and never sends such a rule set, but a newer or broken server could.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Netmap } from '../../src/control/messages.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import { type LabDevice, MeshLab, type StatusJson } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';
import { keyPair } from '../support/polling.js';
import { labNode, ScriptedControl, type ScriptedDevice } from '../support/scripted-control.js';

const T = 60_000;
const A_IP = '100.64.0.1';
const C_IP = '100.64.0.3';

/** Everything from B (100.64.0.2) is let in. */
const FROM_B: Netmap['filter'] = [
  {
    srcIps: ['100.64.0.2/32', 'fd7a:115c:a1e0::2/128'],
    dstPorts: [{ ip: '*', ports: { first: 0, last: 65535 } }],
    protocols: [],
  },
];

describe.skipIf(!isRoot())('a packet filter burrowd cannot use, end to end', () => {
  let lab: MeshLab;
  let control: ScriptedControl;
  let A: LabDevice;
  let B: LabDevice;
  let a: ScriptedDevice;
  const pingA = () =>
    B.ns.exec('ping', ['-c', '1', '-W', '1', A_IP]).then(
      () => true,
      () => false,
    );
  const healthOf = async (d: LabDevice) => ((await d.status()) as StatusJson & { health: string[] }).health;
  const table52 = async (d: LabDevice) => (await d.ns.exec('ip', ['route', 'show', 'table', '52'])).stdout;

  beforeAll(async () => {
    lab = await MeshLab.create();
    control = await ScriptedControl.start(lab.serverNs, lab.serverIp, 8080, join(lab.dir, 'control.sock'));
    A = await lab.device('a');
    B = await lab.device('b');
    const ups = [A, B].map((d) =>
      d.burrow('up', '--login-server', control.url, '--auth-key', 'scripted', '--hostname', d.name),
    );
    const devices = [await control.device('a'), await control.device('b')] as const;
    a = devices[0];
    const nodes = devices.map((d, i) => labNode(i + 1, d.register.hostname, d.register));
    devices.forEach((d, i) => {
      d.send({ type: 'register-result', status: 'ok', self: nodes[i]! });
    });
    // Each needs the other's endpoints (its LAN address) to reach it: no relay in this network.
    await waitFor(
      'both to report their endpoints',
      async () => devices.every((d, i) => d.endpoints().some((e) => e.startsWith(`${[A, B][i]!.lanIp}:`))),
      10_000,
    );
    devices.forEach((d, i) => {
      const other = devices[1 - i]!;
      const peer = labNode(2 - i, other.register.hostname, other.register, other.endpoints());
      const filter = i === 0 ? FROM_B : [];
      d.send({ type: 'full-map', seq: 1, map: { self: nodes[i]!, peers: [peer], filter, relays: [] } });
    });
    for (const up of await Promise.all(ups)) expect(up.code, up.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await control?.close();
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'peers and routes still follow the map, the last good filter stays in force, and the refusal is logged and shown',
    async () => {
      await waitFor('B to reach A', pingA, 15_000);
      const c = keyPair();
      a.send({
        type: 'delta',
        seq: 2,
        peersAdded: [
          labNode(3, 'c', { nodeKey: encodeKey(c.publicKey), discoKey: encodeKey(keyPair().publicKey) }),
        ],
        // Fits the protocol's schema, but no port range runs backwards.
        filter: [{ ...FROM_B[0]!, dstPorts: [{ ip: '*', ports: { first: 443, last: 80 } }] }],
      });
      await waitFor('a route to the new peer C', async () => (await table52(A)).includes(C_IP), 10_000);
      expect((await A.status()).peers.map((p) => p.hostName).sort()).toEqual(['b', 'c']);
      expect(A.output()).toMatch(
        /refused the control server's packet filter: port range 443-80 is not valid/,
      );
      expect((await healthOf(A)).join('\n')).toMatch(
        /packet filter was refused .*previous one stays in force/,
      );
      expect(await pingA()).toBe(true); // the last good filter still lets B in
      // A usable rule set applies again: here, one that lets nobody in.
      a.send({ type: 'delta', seq: 3, filter: [] });
      await waitFor('B to be shut out', async () => !(await pingA()), 10_000);
      expect(await healthOf(A)).toEqual([]);
      expect(A.output()).toContain("the control server's packet filter applies again");
    },
    T,
  );
});
