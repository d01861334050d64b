import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { hostPort, type RelayRegion } from '../src/control/messages.js';
import { randomBytes, selectCrypto } from '../src/crypto/index.js';
import { ClientAddresses } from './client-address.js';
import type { ControlLimits } from './config.js';
import { attachControl, CONTROL_PATH } from './control/listener.js';
import { Coordinator } from './coordinator/coordinator.js';
import { DatabaseState, isUnavailable } from './database-state.js';
import { adminApi } from './http/admin-api.js';
import { loginPages } from './http/login-page.js';
import { Metrics } from './metrics.js';
import { attachHostedRelay, isRelayPath } from './relay/hosted-relay.js';
import type { RelayLimits } from './relay/relay-limits.js';
import { loadOrCreateServerKey } from './server-key.js';
import { StoreError } from './store/errors.js';
import { isPostgresUrl, openStore } from './store/open-store.js';
import { startStunServer } from './stun/stun-server.js';

export interface ServeOptions {
  db: string;
  host: string;
  port: number;
  /** How devices and browsers reach this server; defaults to http://HOST:PORT. */
  publicUrl?: string;
  /** The control key file; defaults to the database path + ".key". */
  keyPath?: string;
  /**
   * How often the change feed is read, ms. On PostgreSQL notifications wake the reader as changes
   * commit, and this is only the safety net for a dropped LISTEN connection (default 1500 ms);
   * on SQLite it is how the admin CLI's changes are noticed (default 100 ms).
   */
  pollMs?: number;
  /**
   * Relay regions besides this server's own, for the relay map every device is sent: standalone
   * relays, and the other instances on the same database. An entry with this server's region id
   * is this server itself, and is described by it (its public URL, relay key and STUN) instead.
   */
  relays?: RelayRegion[];
  /** This server's own relay region (default id 900, "burrow-server"); distinct on every instance. */
  region?: OwnRegion;
  /**
   * Serve STUN binding requests on this UDP port of `host` (0: one the kernel picks; off without
   * it), offered to devices at publicUrl's host, a name or an address.
   */
  stunPort?: number;
  /** What one relay client may cost (the defaults otherwise). */
  relayLimits?: Partial<RelayLimits>;
  /** Reverse proxies whose X-Forwarded-For names the client (default: this host's loopback). */
  trustedProxies?: readonly string[];
  /** What strangers on the control protocol may cost (the defaults otherwise). */
  controlLimits?: ControlLimits;
  /** Device names are HOST.NETWORK.<baseDomain> (default burrow.internal). */
  baseDomain?: string;
  log?: (message: string) => void;
}

/** How long a caller refused for an unreachable database is asked to wait, seconds. */
const RETRY = { 'retry-after': '5' };

/** Which region this server's own relay is: an id and a name unique in the relay map. */
export interface OwnRegion {
  id: number;
  name: string;
}

/** This server's own relay region, offered to every device beside the configured ones. */
export const DEFAULT_REGION: OwnRegion = { id: 900, name: 'burrow-server' };

export interface RunningServer {
  url: string;
  publicKey: string;
  /** This server's relay region, and its relay's public key (base64) for other instances' configs. */
  region: OwnRegion;
  relayPublicKey: string;
  /** The STUN responder's UDP port, null without one. */
  stunPort: number | null;
  coordinator: Coordinator;
  close(): Promise<void>;
}

/** Binds the STUN responder, or throws saying which port could not be had and what to do. */
async function startStun(host: string, port: number) {
  try {
    return await startStunServer({ host, port });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(
      `cannot serve STUN on UDP ${host}:${port} (${reason}): give another port with stunPort ` +
        '(--stun-port N), or 0 for no STUN (devices behind NAT then stay on the relay)',
    );
  }
}

/** Starts burrow-server: the control protocol, the login page, health and metrics. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const crypto = selectCrypto();
  // Checked before anything is opened: a bad entry is the caller's error, not a half-started server.
  const addresses = new ClientAddresses(options.trustedProxies);
  const clientAddress = (req: IncomingMessage) => addresses.of(req);
  const stun = options.stunPort === undefined ? null : await startStun(options.host, options.stunPort);
  // Beside a SQLite file by default. A PostgreSQL database has no file to sit beside, and every
  // instance on it must present the same key (devices pin it): it is named explicitly.
  if (options.keyPath === undefined && isPostgresUrl(options.db))
    throw new Error(
      'with a PostgreSQL database, give the server key file (keyFile in the config), shared by every instance',
    );
  const keyPath = options.keyPath ?? `${options.db}.key`;
  const store = await openStore(options.db);
  const serverKey = loadOrCreateServerKey(crypto, keyPath);
  const publicKey = Buffer.from(serverKey.publicKey).toString('base64');
  const metrics = new Metrics();
  const requests = metrics.counter('burrow_http_requests_total', 'HTTP requests by route and status.');
  const bracket = (host: string) => (host.includes(':') ? `[${host}]` : host);
  let boundUrl = `http://${bracket(options.host)}:${options.port}`;
  const publicUrl = () => options.publicUrl ?? boundUrl;
  const relayKey = loadOrCreateServerKey(crypto, `${keyPath}.relay`);
  // Where devices ask our STUN server: publicUrl's host, which they already reach us at. A name
  // goes in the map as it is, for each device to resolve: the server's own view of its name (such
  // as 127.0.1.1 from a Debian /etc/hosts) may not be the devices'. A host the map cannot carry
  // (an underscore, say) would make every device refuse its map; it is left out, and said once.
  let stunRefusalLogged = false;
  const stunAt = (): { stun?: string } => {
    if (!stun) return {};
    const host = new URL(publicUrl()).hostname.replace(/^\[|\]$/g, '');
    const at = isIP(host) === 6 ? `[${host}]:${stun.port}` : `${host}:${stun.port}`;
    try {
      return { stun: hostPort.parse(at, 'stun') };
    } catch (error) {
      if (!stunRefusalLogged) options.log?.(`STUN not offered to devices: ${(error as Error).message}`);
      stunRefusalLogged = true;
      return {};
    }
  };
  const region = options.region ?? DEFAULT_REGION;
  const relayPublicKey = Buffer.from(relayKey.publicKey).toString('base64');
  const ownRegion = (): RelayRegion => ({
    id: region.id,
    name: region.name,
    url: publicUrl(),
    publicKey: relayPublicKey,
    ...stunAt(),
  });
  // Every instance may be given one list of all of them: its own entry is itself.
  const relayMap = (options.relays ?? []).filter((r) => r.id !== region.id);
  // Loading the store may fail (a database that cannot be read): nothing opened may stay open.
  const abandon = async (error: unknown): Promise<never> => {
    await stun?.close();
    await store.close();
    throw error;
  };
  const database = new DatabaseState({
    probe: () => store.currentSeq(),
    ...(options.log ? { log: options.log } : {}),
  });
  // The database being unreachable is said once, when first noticed (by whichever part), and again
  // when it is back: not by every poll and every device's message that fails meanwhile.
  const UNREACHABLE = 'the database is unreachable';
  const log = (message: string) => {
    const at = message.indexOf(UNREACHABLE);
    if (at === -1) options.log?.(message);
    else database.down(message.slice(at));
  };
  const coordinator = await Coordinator.open({
    store,
    publicUrl,
    relays: () => [...relayMap, ownRegion()],
    now: Date.now,
    ...(options.baseDomain !== undefined ? { baseDomain: options.baseDomain } : {}),
    log,
    ...(options.controlLimits?.logins ? { loginLimits: options.controlLimits.logins } : {}),
    ...(options.controlLimits?.strangers ? { strangerLimits: options.controlLimits.strangers } : {}),
  }).catch(abandon);
  metrics.gauge('burrow_control_streams', 'Devices streaming their map.', () => coordinator.streamCount);
  metrics.gauge(
    'burrow_control_pending_logins',
    'Interactive logins waiting for a sign-in.',
    () => coordinator.pendingLoginCount,
  );
  metrics.gauge(
    'burrow_control_unregistered_channels',
    'Control channels that do not speak for a device yet.',
    () => coordinator.strangerCount,
  );
  const handshakeRefusals = metrics.counter(
    'burrow_control_handshakes_refused_total',
    'Control handshakes refused, by reason.',
  );
  metrics.gauge('burrow_change_seq', 'The change feed position the maps are at.', () => coordinator.seqNow);
  metrics.gauge(
    'burrow_database_reachable',
    'Whether the database answered when last used (0 while it is unreachable: read-only serving).',
    () => (database.reachable ? 1 : 0),
  );
  metrics.gauge('burrow_relay_clients', 'Devices connected to the relay.', () => relay.stats().clients);
  metrics.gauge(
    'burrow_relay_forwarded_packets',
    'Packets the relay forwarded.',
    () => relay.stats().forwardedPackets,
  );
  metrics.gauge(
    'burrow_relay_forwarded_frames',
    'Frames that carried the forwarded packets (devices of relay version 2 batch several a frame).',
    () => relay.stats().forwardedFrames,
  );
  metrics.labelledGauge(
    'burrow_relay_refused',
    'Relay connections refused before authentication, by reason.',
    'reason',
    () => ({ ...relay.stats().refused }),
  );
  metrics.labelledGauge('burrow_relay_closed', 'Relay connections ended, by reason.', 'reason', () => ({
    ...relay.stats().closed,
  }));
  metrics.labelledGauge('burrow_relay_dropped', 'Relayed packets dropped, by reason.', 'reason', () => ({
    ...relay.stats().dropped,
  }));

  const logins = loginPages(store, Date.now, clientAddress);
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    if (await adminApi(store, req, res, Date.now(), options.baseDomain)) return '/api';
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/health') {
      // The seq is where this instance's maps are: devices keep being served while the database is away.
      const report = await database.check();
      const seq = coordinator.seqNow;
      if (report.reachable)
        res
          .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify({ ok: true, seq, database: 'reachable' }));
      else
        res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store', ...RETRY }).end(
          JSON.stringify({
            ok: false,
            seq,
            database: 'unreachable',
            since: new Date(report.since).toISOString(),
            error: report.error,
          }),
        );
      return '/health';
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
      return '/metrics';
    }
    if (req.method === 'GET' && url.pathname === '/control/key') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ version: 1, publicKey }));
      return '/control/key';
    }
    if (await logins.handle(req, res, url.pathname)) return '/login';
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return 'other';
  };

  const http = createServer((req, res) => {
    route(req, res)
      .then((name) => requests.inc({ route: name, status: String(res.statusCode) }))
      .catch((error) => {
        if (isUnavailable(error)) {
          // Nothing was changed: the caller is told why, and when to try again.
          database.down(error.message);
          if (!res.headersSent)
            res.writeHead(503, { 'content-type': 'text/plain', ...RETRY }).end(`${error.message}\n`);
          return;
        }
        options.log?.(`http: ${(error as Error).stack}`);
        if (!res.headersSent) res.writeHead(error instanceof StoreError ? 400 : 500).end();
      });
  });
  const sockets = new Set<Socket>();
  http.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  attachControl(
    http,
    {
      crypto,
      serverKey,
      random: randomBytes,
      now: Date.now,
      ...(options.controlLimits?.handshakes ? { limits: options.controlLimits.handshakes } : {}),
      clientAddress,
      refused: (reason) => handshakeRefusals.inc({ reason }),
    },
    (c) => coordinator.accept(c),
  );
  const relay = await attachHostedRelay(http, {
    crypto,
    relayKey,
    controlKey: serverKey,
    random: randomBytes,
    now: Date.now,
    store,
    relays: () => relayMap,
    clientAddress,
    ...(options.relayLimits ? { limits: options.relayLimits } : {}),
    log,
  }).catch(async (error) => {
    await coordinator.stop();
    return abandon(error);
  });
  // Each upgrade listener takes only its own path; anything else is answered here.
  http.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    if (request.url !== CONTROL_PATH && !isRelayPath(request.url))
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  // While the database is unreachable the maps stay as they are; the first poll that reads the feed
  // again brings them up to everything committed meanwhile (by any instance).
  const follow = () => {
    coordinator.poll().then(
      () => database.up(),
      (error) => {
        if (isUnavailable(error)) database.down(error.message);
        else options.log?.(`control: following the change feed: ${(error as Error).stack}`);
      },
    );
  };
  const postgres = isPostgresUrl(options.db);
  // Every instance on one PostgreSQL database hears of each change as it commits. Imported only
  // here: loading pg would slow every SQLite admin command's start-up (main imports this file).
  const listener = postgres
    ? await (await import('./store/postgres/change-listener.js')).ChangeListener.open({
        connection: options.db,
        wake: follow,
        ...(options.log ? { log: options.log } : {}),
      })
    : null;
  const timer = setInterval(follow, options.pollMs ?? (postgres ? 1500 : 100));
  const stop = async () => {
    clearInterval(timer);
    await listener?.close();
    await coordinator.stop();
    await relay.close();
    await stun?.close();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, resolve);
    });
  } catch (error) {
    // The STUN port, the database and the timer were taken for a server that never ran.
    await stop();
    await store.close();
    throw error;
  }
  const { port } = http.address() as { port: number };
  boundUrl = `http://${bracket(options.host)}:${port}`;
  return {
    url: boundUrl,
    publicKey,
    region,
    relayPublicKey,
    stunPort: stun?.port ?? null,
    coordinator,
    close: async () => {
      await stop();
      for (const s of sockets) s.destroy();
      await new Promise((r) => http.close(r));
      await store.close();
    },
  };
}
