/**
 * Test support for the CLI: a real LocalAPI server on a temp socket whose backend answers with
 * canned, schema-valid data and records every call, so that tests run the real CLI, client and
 * server and check what reached burrowd. Register `afterEach(runCleanups)` in the test file.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DnsStatus, Event, OperationName, Prefs, RequestOf, Status } from '../../src/localapi/api.js';
import { DEFAULT_PREFS } from '../../src/localapi/defaults.js';
import { type Handlers, LocalApiError, startLocalApi } from '../localapi/server.js';
import { main } from './main.js';

const cleanups: (() => Promise<void> | void)[] = [];

export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

export const PREFS: Prefs = { ...DEFAULT_PREFS, controlUrl: 'https://burrow.example.com', wantRunning: true };

const peer = (p: Partial<Status['peers'][number]> & { id: string; hostName: string; ips: string[] }) => ({
  dnsName: `${p.hostName}.home.burrow.internal`,
  shortName: p.hostName,
  user: 'alice',
  online: true,
  shared: false,
  exitNode: false,
  exitNodeOption: false,
  routes: [],
  path: 'none' as const,
  endpoint: null,
  found: null,
  relay: null,
  latencyMs: null,
  lastHandshake: null,
  rxBytes: 0,
  txBytes: 0,
  ...p,
});

export const STATUS: Status = {
  version: '0.1.0-burrowd',
  backendState: 'running',
  authUrl: null,
  self: {
    id: 'n-self',
    hostName: 'laptop',
    dnsName: 'laptop.home.burrow.internal',
    shortName: 'laptop',
    user: 'alice',
    network: 'home',
    ips: ['100.64.0.1', 'fd7a:115c:a1e0::1'],
    online: true,
    keyExpiry: null,
  },
  peers: [
    peer({
      id: 'n-server',
      hostName: 'server',
      ips: ['100.64.0.2', 'fd7a:115c:a1e0::2'],
      path: 'direct',
      endpoint: '192.0.2.10:41641',
      found: 'stun',
      latencyMs: 2,
    }),
    peer({ id: 'n-phone', hostName: 'phone', ips: ['100.64.0.3'], online: false }),
    peer({
      id: 'n-exit',
      hostName: 'exit1',
      ips: ['100.64.0.4'],
      path: 'relay',
      relay: 'fra',
      latencyMs: 31,
      exitNode: true,
    }),
    // Shared by bob from his network, where it is called as one of alice's devices is.
    peer({
      id: 'n-nas',
      hostName: 'server',
      dnsName: 'server.bob.burrow.internal',
      shortName: 'server-bob',
      user: 'bob',
      ips: ['100.64.0.9'],
      shared: true,
    }),
  ],
  shieldsUp: false,
  exitNode: 'n-exit',
  controlConnected: true,
  relays: [],
  health: ['no route to relay region 1 (fra)'],
};

const INVITE = {
  id: 'inv-1',
  device: 'laptop',
  owner: 'alice',
  recipient: 'bob',
  state: 'pending' as const,
  multiUse: false,
  expiresAt: Date.UTC(2030, 0, 2),
};

export const DNS_STATUS: DnsStatus = {
  acceptDns: true,
  running: true,
  addresses: ['100.100.100.100', 'fd7a:115c:a1e0::53'],
  baseDomain: 'burrow.internal',
  backend: 'file',
  changed:
    '/etc/resolv.conf: its servers and search domains (the previous file comes back when burrowd stops)',
  searchDomains: ['family.burrow.internal'],
  routes: [{ domain: 'corp.example', servers: ['10.1.0.53'] }],
  upstreams: ['192.0.2.53'],
  override: false,
  counters: { udp: 12, tcp: 1, forwarded: 4, notLocal: 2, tcpBusy: 0 },
  refusals: [{ reason: 'too-short', count: 1 }],
};

/** A complete backend with canned answers; a test replaces the handlers it is about. */
function cannedHandlers(): Handlers {
  return {
    status: () => STATUS,
    peers: () => STATUS.peers,
    getPrefs: () => PREFS,
    setPrefs: (patch) => ({ ...PREFS, ...patch, exitNode: patch.exitNode === undefined ? null : 'n-exit' }),
    up: () => ({ backendState: 'running', authUrl: null }),
    down: () => ({ backendState: 'stopped' }),
    login: () => ({ authUrl: null }),
    logout: () => ({ backendState: 'needs-login' }),
    ping: ({ peer: ref }) => ({
      peer: ref,
      ip: '100.64.0.2',
      ms: 3,
      path: 'direct',
      endpoint: '192.0.2.10:41641',
      relay: null,
    }),
    listShares: () => ({
      incoming: [{ ...INVITE, id: 'inv-2', device: 'printer', owner: 'carol', recipient: 'alice' }],
      outgoing: [INVITE],
      accepted: [{ id: 'sh-1', device: 'bobs-nas', owner: 'bob', recipient: 'alice' }],
    }),
    createShare: ({ device, to, multiUse }) => ({
      invite: { ...INVITE, device, recipient: to ?? null, multiUse: multiUse ?? false },
      code: 'BRW-7K3Q-XM2P',
    }),
    acceptShare: () => ({ id: 'sh-2', device: 'printer', owner: 'carol', recipient: 'alice' }),
    declineShare: ({ id }) => ({ ...INVITE, id, state: 'declined' }),
    revokeShare: ({ id }) => ({ revoked: id }),
    listExitNodes: () => [
      { id: 'n-exit', hostName: 'exit1', ips: ['100.64.0.4'], online: true, selected: true },
      { id: 'n-exit2', hostName: 'exit2', ips: ['100.64.0.5'], online: false, selected: false },
    ],
    dnsStatus: () => DNS_STATUS,
    dnsQuery: ({ name, type }) => ({
      name,
      type: type ?? 'A',
      rcode: 'NOERROR',
      authoritative: true,
      answers: [{ name, type: type ?? 'A', ttl: 1, data: '100.64.0.2' }],
    }),
    trace: () => {
      throw new LocalApiError(501, 'not in these tests');
    },
  };
}

export interface Call {
  name: OperationName;
  body: unknown;
}

export interface FakeBurrowd {
  socketPath: string;
  /** Every call that reached a handler, in order. */
  calls: Call[];
  /** The handlers in use; replace one to change what burrowd answers. */
  handlers: Handlers;
  /** The state sent first to each new event subscriber. */
  state: Extract<Event, { type: 'state' }>;
  emit(event: Event): void;
  /** How many event streams are open. */
  subscribers(): number;
  /** Runs `burrow --socket SOCKET ...argv` in this process. */
  run(...argv: string[]): Promise<CliResult>;
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI's main with captured output. */
export async function runCli(argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

export function callsOf<N extends OperationName>(fake: FakeBurrowd, name: N): RequestOf<N>[] {
  return fake.calls.filter((c) => c.name === name).map((c) => c.body as RequestOf<N>);
}

export async function startFakeBurrowd(): Promise<FakeBurrowd> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-cli-'));
  chmodSync(dir, 0o755);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const listeners = new Set<(event: Event) => void>();
  const fake: FakeBurrowd = {
    socketPath: join(dir, 'burrowd.sock'),
    calls: [],
    handlers: cannedHandlers(),
    state: { type: 'state', backendState: 'running', authUrl: null },
    emit: (event) => {
      for (const send of listeners) send(event);
    },
    subscribers: () => listeners.size,
    run: (...argv) => runCli(['--socket', fake.socketPath, ...argv]),
  };
  // Each handler records its call, then asks whichever handler the test has put in place.
  const recording = Object.fromEntries(
    (Object.keys(fake.handlers) as (keyof Handlers)[]).map((name) => [
      name,
      (body: never, caller: never) => {
        fake.calls.push({ name, body });
        return (fake.handlers[name] as (b: never, c: never) => unknown)(body, caller);
      },
    ]),
  ) as unknown as Handlers;
  const server = await startLocalApi({
    socketPath: fake.socketPath,
    operatorUid: null,
    handlers: recording,
    subscribe: (send) => {
      send(fake.state);
      listeners.add(send);
      return () => listeners.delete(send);
    },
  });
  cleanups.push(() => server.close());
  return fake;
}
