import { describe, expect, it } from 'vitest';
import type { Netmap, NodeInfo } from '../../src/control/messages.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { formatAddr } from '../../src/packet/ip-text.js';
import { Device } from '../../src/wireguard/device.js';
import { clampPrivateKey, encodeKey } from '../../src/wireguard/keys.js';
import { planMesh, syncDevice } from './peer-sync.js';

const crypto = selectCrypto();
const key = () => encodeKey(crypto.x25519PublicKey(clampPrivateKey(randomBytes(32))));

function node(id: string, n: number, extra: Partial<NodeInfo> = {}): NodeInfo {
  return {
    id,
    name: id,
    user: 'u',
    network: 'n',
    ips: [`100.64.0.${n}`, `fd00::${n}`],
    nodeKey: key(),
    discoKey: key(),
    endpoints: [`192.0.2.${n}:41641`],
    online: true,
    lastSeen: null,
    keyExpiry: null,
    shared: false,
    exitNodeOption: false,
    routes: [],
    ...extra,
  };
}

const map = (peers: NodeInfo[]): Netmap => ({ self: node('self', 1), peers, filter: [], relays: [] });
const allowed = (device: Device, nodeKey: string) =>
  device.allowedIps
    .entriesOf(device.getPeer(Buffer.from(nodeKey, 'base64'))!)
    .map((e) => `${formatAddr(e.addr)}/${e.cidr}`)
    .sort();

describe('netmap to WireGuard', () => {
  const gw = node('gw', 3, { routes: ['10.1.0.0/16'], exitNodeOption: true });
  const laptop = node('laptop', 2);

  it('gives peers their addresses; routes only with accept-routes; the default only to the chosen exit node', () => {
    const plain = planMesh(map([laptop, gw]), { acceptRoutes: false, exitNode: null }, 0);
    expect(plain.peers.map((p) => p.allowedIps)).toEqual([
      ['100.64.0.2/32', 'fd00::2/128'],
      ['100.64.0.3/32', 'fd00::3/128'],
    ]);
    const all = planMesh(map([laptop, gw]), { acceptRoutes: true, exitNode: 'gw' }, 0);
    expect(all.peers[1]!.allowedIps).toEqual([
      '100.64.0.3/32',
      'fd00::3/128',
      '10.1.0.0/16',
      '0.0.0.0/0',
      '::/0',
    ]);
    expect(all.routes).toContain('0.0.0.0/0');
    expect(all.exitNodeMissing).toBe(false);
  });

  it('fails closed: a chosen exit node that is gone keeps the default routes, with no peer to take them', () => {
    const plan = planMesh(map([laptop]), { acceptRoutes: false, exitNode: 'gw' }, 0);
    expect(plan.exitNodeMissing).toBe(true);
    expect(plan.routes).toEqual(expect.arrayContaining(['0.0.0.0/0', '::/0']));
    expect(plan.peers.flatMap((p) => p.allowedIps)).not.toContain('0.0.0.0/0');
  });

  it('leaves out peers whose node key expired', () => {
    const plan = planMesh(
      map([node('old', 4, { keyExpiry: 1000 }), laptop]),
      { acceptRoutes: false, exitNode: null },
      2000,
    );
    expect(plan.peers.map((p) => p.node.id)).toEqual(['laptop']);
  });

  it('syncs the device in place: peers come and go, allowed IPs follow, each gets its endpoint once', () => {
    const device = new Device({ crypto, privateKey: clampPrivateKey(randomBytes(32)), random: randomBytes });
    const endpointOf = (n: { id: string }) => ({ host: `peer:${n.id}`, port: 0 });
    syncDevice(device, planMesh(map([laptop, gw]), { acceptRoutes: false, exitNode: null }, 0), endpointOf);
    expect([...device.peers()]).toHaveLength(2);
    const before = device.getPeer(Buffer.from(gw.nodeKey, 'base64'));
    expect(before!.endpoint).toEqual({ host: 'peer:gw', port: 0 });
    syncDevice(device, planMesh(map([gw]), { acceptRoutes: true, exitNode: 'gw' }, 0), endpointOf);
    expect([...device.peers()]).toHaveLength(1);
    expect(device.getPeer(Buffer.from(gw.nodeKey, 'base64'))).toBe(before); // same session state
    expect(allowed(device, gw.nodeKey)).toEqual([
      '0.0.0.0/0',
      '10.1.0.0/16',
      '100.64.0.3/32',
      '::/0',
      'fd00::3/128',
    ]);
    const moved = { ...gw, endpoints: ['192.0.2.77:5'] };
    syncDevice(device, planMesh(map([moved]), { acceptRoutes: false, exitNode: null }, 0), endpointOf);
    expect(before!.endpoint).toEqual({ host: 'peer:gw', port: 0 }); // the conn follows the peer's endpoints
    expect(allowed(device, gw.nodeKey)).toEqual(['100.64.0.3/32', 'fd00::3/128']);
  });
});
