/**
 * For tests: burrowd's real LocalAPI server (helper/localapi/server.ts) on a temporary socket, with
 * an in-memory backend that answers schema-valid data, records what it was asked, and can be
 * stopped and started again on the same path (burrowd restarting). Its traces are real reports
 * for the sample peers (sample-traces.ts): desktop:80 is delivered, bobs-pi (shared by bob) is
 * behind Shields Up, nas has been offline for 3 h.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Handlers,
  LocalApiError,
  type LocalApiServer,
  startLocalApi,
} from '../../helper/localapi/server.js';
import type { Event, PeerStatus, Prefs, ShareList, Status } from '../../src/localapi/api.js';
import { DEFAULT_PREFS } from '../../src/localapi/defaults.js';
import { sampleTrace } from './sample-traces.js';

export const PREFS: Prefs = { ...DEFAULT_PREFS, controlUrl: 'https://burrow.example.com', wantRunning: true };

export function peer(id: string, hostName: string, ip: string, more: Partial<PeerStatus> = {}): PeerStatus {
  return {
    id,
    hostName,
    dnsName: `${hostName}.alice.burrow.internal`,
    shortName: hostName,
    user: 'alice',
    ips: [ip, `fd7a:115c:a1e0::${ip.split('.').at(-1)}`],
    online: true,
    shared: false,
    exitNode: false,
    exitNodeOption: false,
    routes: [],
    path: 'direct',
    endpoint: '192.0.2.10:41641',
    found: 'stun',
    relay: null,
    latencyMs: 4,
    lastHandshake: 1_700_000_000_000,
    rxBytes: 1024,
    txBytes: 2048,
    ...more,
  };
}

export const STATUS: Status = {
  version: '0.1.0-test',
  backendState: 'running',
  authUrl: null,
  self: {
    id: 'self1',
    hostName: 'laptop',
    dnsName: 'laptop.alice.burrow.internal',
    shortName: 'laptop',
    user: 'alice',
    network: 'alice',
    ips: ['100.64.0.1', 'fd7a:115c:a1e0::1'],
    online: true,
    keyExpiry: null,
  },
  peers: [
    peer('p2', 'desktop', '100.64.0.2'),
    peer('p3', 'nas', '100.64.0.3', { online: false }),
    peer('p4', 'exit-nyc', '100.64.0.4', { exitNodeOption: true }),
    peer('p5', 'bobs-pi', '100.64.0.5', {
      shared: true,
      user: 'bob',
      dnsName: 'bobs-pi.bob.burrow.internal',
    }),
  ],
  shieldsUp: false,
  exitNode: null,
  controlConnected: true,
  relays: [],
  health: [],
};

export const SHARES: ShareList = {
  incoming: [
    {
      id: 'inv1',
      device: 'bobs-printer',
      owner: 'bob',
      recipient: 'alice',
      state: 'pending',
      multiUse: false,
      expiresAt: 1_900_000_000_000,
    },
  ],
  outgoing: [],
  accepted: [],
};

export interface TestLocalApi {
  socketPath: string;
  /** Operation names in the order they were called, plus "events" per stream opened. */
  calls: string[];
  /** Sends an event to every open stream. */
  send(event: Event): void;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

export async function startTestLocalApi(): Promise<TestLocalApi> {
  // mkdtemp makes a 0700 directory owned by us (root): one the broker trusts.
  const dir = mkdtempSync(join(tmpdir(), 'burrow-main-'));
  const socketPath = join(dir, 'burrowd.sock');
  const calls: string[] = [];
  const listeners = new Set<(e: Event) => void>();
  let prefs = { ...PREFS };
  const status = (): Status => ({ ...STATUS, shieldsUp: prefs.shieldsUp, exitNode: prefs.exitNode });
  const exitNodes = STATUS.peers.filter((p) => p.exitNodeOption);
  const record =
    <A extends unknown[], R>(name: string, f: (...args: A) => R) =>
    (...args: A): R => {
      calls.push(name);
      return f(...args);
    };
  const handlers: Handlers = {
    status: record('status', status),
    peers: record('peers', () => STATUS.peers),
    getPrefs: record('getPrefs', () => prefs),
    setPrefs: record('setPrefs', (patch) => {
      if (patch.exitNode && !exitNodes.some((p) => p.id === patch.exitNode))
        throw new LocalApiError(404, `no peer "${patch.exitNode}"`);
      prefs = { ...prefs, ...(patch as Partial<Prefs>) };
      for (const send of listeners) send({ type: 'netmap', status: status() });
      return prefs;
    }),
    up: record('up', () => ({ backendState: 'running' as const, authUrl: null })),
    down: record('down', () => ({ backendState: 'stopped' as const })),
    login: record('login', () => ({ authUrl: 'https://burrow.example.com/login/abc' })),
    logout: record('logout', () => ({ backendState: 'needs-login' as const })),
    ping: record('ping', () => ({
      peer: 'desktop',
      ip: '100.64.0.2',
      ms: 3,
      path: 'direct' as const,
      endpoint: '192.0.2.10:41641',
      relay: null,
    })),
    listShares: record('listShares', () => SHARES),
    createShare: record('createShare', () => {
      throw new LocalApiError(501, 'not in these tests');
    }),
    acceptShare: record('acceptShare', () => ({
      id: 'sh1',
      device: 'bobs-printer',
      owner: 'bob',
      recipient: 'alice',
    })),
    declineShare: record('declineShare', () => ({ ...SHARES.incoming[0]!, state: 'declined' as const })),
    revokeShare: record('revokeShare', ({ id }) => ({ revoked: id })),
    listExitNodes: record('listExitNodes', () =>
      exitNodes.map((p) => ({
        id: p.id,
        hostName: p.hostName,
        ips: p.ips,
        online: p.online,
        selected: false,
      })),
    ),
    dnsStatus: record('dnsStatus', () => {
      throw new LocalApiError(501, 'not in these tests');
    }),
    dnsQuery: record('dnsQuery', () => {
      throw new LocalApiError(501, 'not in these tests');
    }),
    trace: record('trace', (request) => sampleTrace(request, status(), Date.now())),
  };
  let server: LocalApiServer | null = null;
  const api: TestLocalApi = {
    socketPath,
    calls,
    send: (event) => {
      for (const send of listeners) send(event);
    },
    start: async () => {
      server = await startLocalApi({
        socketPath,
        operatorUid: null,
        handlers,
        subscribe: (send) => {
          calls.push('events');
          send({ type: 'state', backendState: 'running', authUrl: null });
          listeners.add(send);
          return () => listeners.delete(send);
        },
      });
    },
    stop: async () => {
      await server?.close();
      server = null;
    },
    dispose: async () => {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await api.start();
  return api;
}
