import { describe, expect, it } from 'vitest';
import type { MapDelta, Netmap, NodeInfo } from '../../src/control/messages.js';
import { applyDelta } from '../../src/control/netmap-state.js';
import { status as statusSchema } from '../../src/localapi/api.js';
import { DEFAULT_PREFS } from '../../src/localapi/defaults.js';
import { buildStatus, findPeer } from './mesh-status.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

function node(id: string, name: string, network: string, n: number): NodeInfo {
  return {
    id,
    name,
    user: network,
    network,
    ips: [`100.64.0.${n}`, `fd00::${n}`],
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

// Alice's laptop sees her nas, and carol's nas and printer shared with her.
const MAP: Netmap = {
  self: node('laptop-id', 'laptop', 'family', 1),
  peers: [
    node('carol-nas', 'nas', 'carol', 2),
    node('alice-nas', 'nas', 'family', 3),
    node('printer', 'printer', 'carol', 4),
  ],
  filter: [],
  relays: [],
};

const status = (netmap: Netmap) =>
  buildStatus({
    version: 'test',
    backendState: 'running',
    authUrl: null,
    netmap,
    prefs: DEFAULT_PREFS,
    controlConnected: true,
    peer: () => undefined,
    path: () => null,
    now: 0,
    health: [],
    fastPath: null,
  });

describe('status names', () => {
  it('shows each device by the names its resolver answers: own ones bare, a colliding shared one suffixed', () => {
    const s = status(MAP);
    expect(statusSchema.parse(s)).toEqual(s);
    expect(s.self).toMatchObject({
      hostName: 'laptop',
      shortName: 'laptop',
      dnsName: 'laptop.family.burrow.internal',
    });
    expect(s.peers.map((p) => [p.id, p.hostName, p.shortName, p.dnsName])).toEqual([
      ['carol-nas', 'nas', 'nas-carol', 'nas.carol.burrow.internal'],
      ['alice-nas', 'nas', 'nas', 'nas.family.burrow.internal'],
      ['printer', 'printer', 'printer', 'printer.carol.burrow.internal'],
    ]);
  });

  it('finds a peer by short or full name (a final dot allowed) before its host name', () => {
    expect(findPeer(MAP, 'nas')?.id).toBe('alice-nas');
    expect(findPeer(MAP, 'nas-carol')?.id).toBe('carol-nas');
    expect(findPeer(MAP, 'NAS.carol.burrow.internal.')?.id).toBe('carol-nas');
    expect(findPeer(MAP, '100.64.0.4')?.id).toBe('printer');
    expect(findPeer(MAP, 'printer.family.burrow.internal')).toBeUndefined();
  });

  it('a rename in a delta changes both names, and frees the old short name for the shared device', () => {
    const delta: MapDelta = { type: 'delta', seq: 2, peersChanged: [{ ...MAP.peers[1]!, name: 'files' }] };
    const s = status(applyDelta(MAP, delta));
    expect(s.peers.map((p) => [p.shortName, p.dnsName])).toEqual([
      ['nas', 'nas.carol.burrow.internal'],
      ['files', 'files.family.burrow.internal'],
      ['printer', 'printer.carol.burrow.internal'],
    ]);
  });

  it('uses the base domain the map gives', () => {
    const s = status({
      ...MAP,
      dns: {
        baseDomain: 'lan.example',
        resolver: { ipv4: '100.100.100.100', ipv6: 'fd00::53' },
        nameservers: [],
        routes: [],
        searchDomains: ['family.lan.example'],
        override: false,
      },
    });
    expect(s.self!.dnsName).toBe('laptop.family.lan.example');
  });
});
