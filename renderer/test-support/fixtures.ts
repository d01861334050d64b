/**
 * Sample burrowd data for the UI's tests: a small network ("home") with one of each kind of peer,
 * among them a device shared from carol's network whose name is taken here, so it goes by the
 * suffixed short name burrowd gives it (src/control/device-names.ts).
 */
import type { HelperState } from '../../src/ipc/schema.js';
import type { PeerStatus, Prefs, ShareList, Status } from '../../src/localapi/api.js';
import { DEFAULT_PREFS } from '../../src/localapi/defaults.js';

export const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

export function peer(overrides: Partial<PeerStatus> & Pick<PeerStatus, 'id' | 'hostName'>): PeerStatus {
  return {
    dnsName: `${overrides.hostName}.home.burrow.internal`,
    shortName: overrides.hostName,
    user: 'alice',
    ips: ['100.64.0.9'],
    online: true,
    shared: false,
    exitNode: false,
    exitNodeOption: false,
    routes: [],
    path: 'direct',
    endpoint: null,
    found: null,
    relay: null,
    latencyMs: null,
    lastHandshake: NOW - 30_000,
    rxBytes: 0,
    txBytes: 0,
    ...overrides,
  };
}

export const PEERS: PeerStatus[] = [
  peer({ id: 'n-desk', hostName: 'desk', ips: ['100.64.0.2', 'fd7a:115c:a1e0::2'] }),
  peer({
    id: 'n-gw',
    hostName: 'gateway',
    ips: ['100.64.0.3'],
    exitNodeOption: true,
    path: 'relay',
    relay: 'fra',
    latencyMs: 31,
    lastHandshake: NOW - 3 * 3_600_000,
  }),
  peer({
    id: 'n-old',
    hostName: 'oldbox',
    ips: ['100.64.0.4'],
    online: false,
    exitNodeOption: true,
    path: 'none',
    lastHandshake: null,
  }),
  peer({
    id: 'n-nas',
    hostName: 'nas',
    dnsName: 'nas.bob.burrow.internal',
    user: 'bob',
    ips: ['100.64.0.5'],
    shared: true,
  }),
  peer({
    id: 'n-carol-desk',
    hostName: 'desk',
    shortName: 'desk-carol',
    dnsName: 'desk.carol.burrow.internal',
    user: 'carol',
    ips: ['100.64.0.7'],
    shared: true,
  }),
];

export const STATUS: Status = {
  version: '0.1.0',
  backendState: 'running',
  authUrl: null,
  self: {
    id: 'n-laptop',
    hostName: 'laptop',
    dnsName: 'laptop.home.burrow.internal',
    shortName: 'laptop',
    user: 'alice',
    network: 'home',
    ips: ['100.64.0.1'],
    online: true,
    keyExpiry: null,
  },
  peers: PEERS,
  shieldsUp: false,
  exitNode: null,
  controlConnected: true,
  relays: [],
  health: [],
};

export const PREFS: Prefs = { ...DEFAULT_PREFS, controlUrl: 'https://burrow.example.com', wantRunning: true };

const inviteBase = { state: 'pending' as const, multiUse: false, expiresAt: NOW + 2 * 86_400_000 };

export const SHARES: ShareList = {
  incoming: [
    { ...inviteBase, id: 'inv-in', device: 'printer', owner: 'carol', recipient: 'alice' },
    { ...inviteBase, id: 'inv-old', device: 'tv', owner: 'carol', recipient: 'alice', state: 'declined' },
  ],
  outgoing: [
    { ...inviteBase, id: 'inv-link', device: 'laptop', owner: 'alice', recipient: null, multiUse: true },
    { ...inviteBase, id: 'inv-done', device: 'desk', owner: 'alice', recipient: 'dave', state: 'accepted' },
  ],
  accepted: [
    { id: 'sh-nas', device: 'nas', owner: 'bob', recipient: 'alice' },
    { id: 'sh-desk', device: 'desk', owner: 'alice', recipient: 'dave' },
  ],
};

export const HELPER_RUNNING: HelperState = {
  state: 'running',
  socket: '/run/burrow/burrowd.sock',
  detail: '',
};
