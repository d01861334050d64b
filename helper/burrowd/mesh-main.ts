import { readFileSync } from 'node:fs';
import { packagedVersion } from '../../src/packaged.js';
import { type Handlers, startLocalApi } from '../localapi/server.js';
import type { BurrowdFlags } from './flags.js';
import type { Log } from './log.js';
import { eventFor, statusFor } from './login-url.js';
import { MeshNode } from './mesh.js';
import { shareHandlers } from './mesh-shares.js';
import { signalReady } from './ready.js';
import { TraceApi } from './trace-api.js';
import type { InterfaceGoneError } from './tunnel.js';

/** The uid of `--operator` (a user name from /etc/passwd, or a number). */
export function operatorUid(operator: string | undefined, passwd = '/etc/passwd'): number | null {
  if (operator === undefined) return null;
  if (/^\d+$/.test(operator)) return Number(operator);
  for (const line of readFileSync(passwd, 'utf8').split('\n')) {
    const [name, , uid] = line.split(':');
    if (name === operator && uid !== undefined) return Number(uid);
  }
  throw new Error(`--operator: no user "${operator}" in ${passwd}`);
}

/**
 * The package's version: baked into a packaged burrowd, else read from the sources (tsx) or from
 * dist/ (built), whichever this is.
 */
export function packageVersion(): string {
  const packaged = packagedVersion();
  if (packaged !== undefined) return packaged;
  for (const up of ['../../', '../../../']) {
    try {
      return String(JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8')).version);
    } catch {}
  }
  return 'unknown';
}

/**
 * burrowd as a mesh node, in the foreground until SIGINT or SIGTERM: the node itself and its
 * LocalAPI. Stopping takes the tunnel down and leaves no routes, rules or interfaces behind.
 * If its interface is deleted meanwhile (`ip link del burrow0`), it stops the same way and then
 * rejects with InterfaceGoneError (burrowd exits 1), for its service manager to start it again.
 */
export async function runMesh(flags: BurrowdFlags, log: Log): Promise<void> {
  let interfaceGone: (error: InterfaceGoneError) => void = () => undefined;
  const gone = new Promise<InterfaceGoneError>((resolve) => {
    interfaceGone = resolve;
  });
  const node = new MeshNode({
    stateDir: flags.stateDir,
    tun: flags.tun,
    port: flags.port,
    version: packageVersion(),
    log,
    onInterfaceGone: (error) => interfaceGone(error),
  });
  const traces = new TraceApi((query) => node.tracer.trace(query), Date.now);
  const handlers: Handlers = {
    status: (_, caller) => statusFor(caller, node.status()),
    peers: () => node.status().peers,
    getPrefs: () => node.getPrefs(),
    setPrefs: (patch) => node.setPrefs(patch),
    up: (request) => node.up(request),
    down: () => node.down(),
    login: async () => {
      const { authUrl } = await node.up({});
      return { authUrl };
    },
    logout: () => node.logout(),
    ping: (request) => node.ping(request.peer, request.timeoutMs ?? 5000),
    listExitNodes: () => node.listExitNodes(),
    dnsStatus: () => node.dns.status(),
    dnsQuery: (request) => node.dns.query(request.name, request.type),
    trace: (request, caller) => traces.handle(request, caller),
    ...shareHandlers(
      () => node.controlClient,
      () => node.status(),
    ),
  };
  const api = await startLocalApi({
    socketPath: flags.socket,
    operatorUid: operatorUid(flags.operator),
    handlers,
    subscribe: (send, caller) => node.subscribe((event) => send(eventFor(caller, event))),
    log: (m) => log.error(m),
  });
  let lost: InterfaceGoneError | undefined;
  try {
    await node.start();
    log.info(`mesh node ready; LocalAPI on ${flags.socket}`);
    signalReady(log);
    const signalled = new Promise<undefined>((resolve) => {
      process.once('SIGINT', () => resolve(undefined));
      process.once('SIGTERM', () => resolve(undefined));
    });
    lost = await Promise.race([signalled, gone]);
  } finally {
    await api.close();
    await node.close();
  }
  if (lost) throw lost;
}
