import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { deviceNames } from './device-names.js';
import type { Netmap, NodeInfo } from './messages.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
let ip = 1;
function node(id: string, name: string, network: string): NodeInfo {
  ip++;
  return {
    id,
    name,
    user: 'u',
    network,
    ips: [`100.64.0.${ip}`],
    nodeKey: KEY,
    discoKey: KEY,
    endpoints: [],
    online: true,
    lastSeen: null,
    keyExpiry: null,
    shared: network !== 'family',
    exitNodeOption: false,
    routes: [],
  };
}

const map = (self: NodeInfo, peers: NodeInfo[], baseDomain?: string): Netmap => ({
  self,
  peers,
  filter: [],
  relays: [],
  ...(baseDomain
    ? {
        dns: {
          baseDomain,
          resolver: { ipv4: '100.100.100.100', ipv6: 'fd00::53' },
          nameservers: [],
          routes: [],
          searchDomains: [],
          override: false,
        },
      }
    : {}),
});

const table = (m: Netmap) =>
  deviceNames(m).map((n) => `${n.id} ${n.short} ${n.fqdn}${n.own ? '' : ' shared'}`);

describe('device names', () => {
  it('own devices: HOST and HOST.NETWORK.<base domain>, from the map or the default', () => {
    const m = map(node('a', 'laptop', 'family'), [node('b', 'webcam', 'family')]);
    expect(table(m)).toEqual([
      'a laptop laptop.family.burrow.internal',
      'b webcam webcam.family.burrow.internal',
    ]);
    const own = map(node('a', 'laptop', 'Alice@Example.com'), [], 'lan.example');
    expect(deviceNames(own)[0]).toMatchObject({
      short: 'laptop',
      fqdn: 'laptop.alice-example-com.lan.example',
      own: true,
      ips: [own.self.ips[0]],
    });
  });

  it('a shared device keeps its bare name unless it collides; own devices always keep theirs', () => {
    const m = map(node('a', 'laptop', 'family'), [
      node('b', 'nas', 'family'),
      node('c', 'nas', 'carol'),
      node('d', 'printer', 'carol'),
    ]);
    expect(table(m)).toEqual([
      'a laptop laptop.family.burrow.internal',
      'b nas nas.family.burrow.internal',
      'c nas-carol nas.carol.burrow.internal shared',
      'd printer printer.carol.burrow.internal shared',
    ]);
  });

  it('two shared devices of one name from different networks: the first by network keeps it', () => {
    const m = map(node('a', 'laptop', 'family'), [node('z1', 'nas', 'dave'), node('y9', 'nas', 'bob')]);
    expect(table(m)).toEqual([
      'a laptop laptop.family.burrow.internal',
      'z1 nas-dave nas.dave.burrow.internal shared',
      'y9 nas nas.bob.burrow.internal shared',
    ]);
  });

  it('a suffix that is itself taken goes on counting; a device called that keeps its name', () => {
    const m = map(node('a', 'nas', 'family'), [
      node('b', 'nas-carol', 'family'),
      node('c', 'nas', 'carol'),
      node('d', 'nas-carol', 'erin'),
    ]);
    expect(table(m)).toEqual([
      'a nas nas.family.burrow.internal',
      'b nas-carol nas-carol.family.burrow.internal',
      'c nas-carol-2 nas.carol.burrow.internal shared',
      'd nas-carol-erin nas-carol.erin.burrow.internal shared',
    ]);
  });

  it('networks whose names make the same label keep full names apart; long names stay one label', () => {
    const long = 'x'.repeat(63);
    const m = map(node('a', long, 'a.b'), [node('b', long, 'a-b'), node('c', 'cam', 'A_B')]);
    const names = deviceNames(m);
    expect(names.map((n) => n.fqdn)).toEqual([
      `${long}.a-b.burrow.internal`,
      `${long}.a-b-3.burrow.internal`,
      'cam.a-b-2.burrow.internal',
    ]);
    expect(names[1]!.short).toBe(`${'x'.repeat(57)}-a-b-3`);
    for (const n of names) expect(n.short.length).toBeLessThanOrEqual(63);
  });

  it('are the same whatever order the map lists its peers in, and unique (property)', () => {
    const rng = new Rng(17);
    for (let round = 0; round < 200; round++) {
      const networks = ['family', 'carol', 'bob', 'Bob.x', 'bob-x'];
      const hosts = ['nas', 'nas-carol', 'cam', 'nas-bob', 'nas-2'];
      const peers = Array.from({ length: 1 + rng.int(12) }, (_, i) =>
        node(`id${round}-${i}`, rng.pick(hosts), rng.pick(networks)),
      );
      const self = node(`self${round}`, rng.pick(hosts), 'family');
      const ownNames = new Set([self.name]);
      // The server keeps names unique within a network.
      const valid = peers.filter((p) => {
        const key = `${p.network}/${p.name}`;
        if (p.network === 'family' ? ownNames.has(p.name) : ownNames.has(key)) return false;
        ownNames.add(p.network === 'family' ? p.name : key);
        return true;
      });
      const names = deviceNames(map(self, valid));
      const shuffled = deviceNames(
        map(
          self,
          [...valid].sort(() => rng.int(3) - 1),
        ),
      );
      const byId = (list: typeof names) => Object.fromEntries(list.map((n) => [n.id, [n.short, n.fqdn]]));
      expect(byId(shuffled)).toEqual(byId(names));
      expect(new Set(names.map((n) => n.short)).size).toBe(names.length);
      expect(new Set(names.map((n) => n.fqdn)).size).toBe(names.length);
      for (const n of names.filter((x) => x.own)) expect(n.short).toBe(n.fqdn.split('.')[0]);
    }
  });
});
