/**
 * The LocalAPI, version 1: how the `burrow` CLI and the desktop app talk to burrowd over its unix
 * socket. One table describes every operation (its method and path, whether it changes anything,
 * and the schemas of its request and response); burrowd's server, the CLI's client and the app's
 * broker are all driven by it, so they cannot disagree. Every request body is checked against its
 * schema where it arrives; so is every response, where it arrives.
 *
 * Transport: HTTP/1.1 over the unix socket, JSON bodies of at most MAX_BODY bytes, paths under
 * /localapi/v1/. Errors are `{ "error": "..." }` with a 4xx/5xx status. `events` is the one
 * streaming operation: newline-delimited JSON, one Event per line, until the client hangs up.
 */
import { ControlUrlError, formatControlUrls, parseControlUrls } from '../control/control-urls.js';
import { cidr, ip, relayRegion } from '../control/messages.js';
import {
  array,
  boolean,
  type Infer,
  integer,
  literal,
  nullable,
  object,
  optional,
  type Schema,
  SchemaError,
  string,
  tagged,
} from '../control/schema.js';
import { traceProtocol, traceReport } from '../trace/report.js';

export const LOCALAPI_VERSION = 1;
export const LOCALAPI_PREFIX = '/localapi/v1';
export const MAX_BODY = 64 * 1024;

const text = (max = 256) => string({ max });
const id = string({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/, what: 'an id' });
/** A peer as a user names it: its host name, DNS name, id or one of its addresses. */
const peerRef = string({ min: 1, max: 253 });
const url = string({ min: 1, max: 2048, pattern: /^https?:\/\/[^\s]+$/, what: 'an http(s) URL' });
/** One control URL, or several separated by commas (src/control/control-urls.ts), each one checked. */
const controlUrls: Schema<string> = {
  parse(value, path = '$') {
    const text = string({ min: 1, max: 2048 }).parse(value, path);
    try {
      return formatControlUrls(parseControlUrls(text));
    } catch (error) {
      if (error instanceof ControlUrlError) throw new SchemaError(path, error.message);
      throw error;
    }
  },
};
const hostname = string({
  min: 1,
  max: 63,
  pattern: /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/,
  what: 'a host name (letters, digits and dashes)',
});
const unixMs = nullable(integer({ min: 0, max: 8_640_000_000_000_000 }));
const count = integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

// --- records ---

/**
 * How a direct path was found: `lan` the peer's own interface address, on a subnet of ours; `stun`
 * an address the peer told us of (its STUN-mapped endpoint, or an interface address beyond our
 * subnets); `peer-reflexive` the address a ping of the peer's came from, which it did not know
 * itself; `port-mapping` an endpoint the peer's gateway mapped on request (NAT-PMP, PCP, UPnP).
 */
export const PATH_FOUND = ['lan', 'stun', 'peer-reflexive', 'port-mapping'] as const;
export type PathFound = (typeof PATH_FOUND)[number];

export const prefs = object({
  /**
   * The coordination server, e.g. https://burrow.example.com; or several instances of it, comma
   * separated (https://a.example.com,https://b.example.com), tried in turn.
   */
  controlUrl: nullable(controlUrls),
  /** Whether the user wants the tunnel up (`up` sets it, `down` clears it; it survives restarts). */
  wantRunning: boolean,
  hostname: nullable(hostname),
  advertiseRoutes: array(cidr, { max: 256 }),
  advertiseExitNode: boolean,
  acceptRoutes: boolean,
  /** Refuse every new inbound connection, pings included; replies to our own traffic still pass. */
  shieldsUp: boolean,
  /** The id of the peer used as exit node, or null. */
  exitNode: nullable(id),
  exitNodeAllowLanAccess: boolean,
  /**
   * Use the network's DNS (MagicDNS): device names resolve and the system's resolver is pointed at
   * burrowd's. False leaves the system's DNS configuration alone.
   */
  acceptDns: boolean,
});
export type Prefs = Infer<typeof prefs>;

/** Prefs a request may change; each field is optional. */
export const prefsPatch = object({
  controlUrl: optional(nullable(controlUrls)),
  hostname: optional(nullable(hostname)),
  advertiseRoutes: optional(array(cidr, { max: 256 })),
  advertiseExitNode: optional(boolean),
  acceptRoutes: optional(boolean),
  shieldsUp: optional(boolean),
  exitNode: optional(nullable(peerRef)),
  exitNodeAllowLanAccess: optional(boolean),
  acceptDns: optional(boolean),
});
export type PrefsPatch = Infer<typeof prefsPatch>;

export const backendState = literal('stopped', 'needs-login', 'starting', 'running');
export type BackendState = Infer<typeof backendState>;

export const peerStatus = object({
  id,
  /** The device's name in its own network. */
  hostName: text(63),
  /** Its full name, `host.network.burrow.internal` (src/control/device-names.ts), without the final dot. */
  dnsName: text(253),
  /** The name that resolves on its own: the host name, or `host-network` for a shared one whose name is taken. */
  shortName: text(63),
  user: text(128),
  ips: array(ip, { max: 4 }),
  online: boolean,
  /** Shared with us from another network: it may not start connections to us. */
  shared: boolean,
  /** In use as our exit node. */
  exitNode: boolean,
  exitNodeOption: boolean,
  routes: array(cidr, { max: 256 }),
  path: literal('direct', 'relay', 'none'),
  /** The direct address in use (path direct). */
  endpoint: nullable(text(64)),
  /** How that direct address was found (path direct; see PATH_FOUND). */
  found: nullable(literal(...PATH_FOUND)),
  /** The relay region's name (path relay). */
  relay: nullable(text(64)),
  /** Round trip of the last disco ping on the path in use. */
  latencyMs: nullable(integer({ min: 0, max: 600_000 })),
  lastHandshake: unixMs,
  rxBytes: count,
  txBytes: count,
});
export type PeerStatus = Infer<typeof peerStatus>;

export const status = object({
  version: text(64),
  backendState,
  /**
   * Where to sign in, while the state is needs-login; null for a caller who may not change
   * burrowd (only root and the operator see it: it is the power to sign the device in).
   */
  authUrl: nullable(url),
  self: nullable(
    object({
      id,
      hostName: text(63),
      dnsName: text(253),
      shortName: text(63),
      user: text(128),
      network: text(128),
      ips: array(ip, { max: 4 }),
      online: boolean,
      keyExpiry: unixMs,
    }),
  ),
  peers: array(peerStatus, { max: 20_000 }),
  shieldsUp: boolean,
  /** The exit node in use (its id), or null. */
  exitNode: nullable(id),
  /** Whether the control server is reachable; the tunnel works without it. */
  controlConnected: boolean,
  relays: array(relayRegion, { max: 64 }),
  /** Problems the user should know of, in words. */
  health: array(text(512), { max: 64 }),
  /**
   * What the native fast path carried while the tunnel is up with it (absent or null: the JS
   * datapath carries everything): datagrams it sent, its writes to the TUN, and the inbound
   * packets it handed to the packet filter to judge, for debugging and the tests.
   */
  fastPath: optional(nullable(object({ sent: count, tunWrites: count, judged: count }))),
  /**
   * Trace probes from peers (`burrow trace` on their side): answered, refused (by reason:
   * rate-limited, not-to-us, foreign-source, unjudged) and malformed (by the field refused), and
   * answers to our own probes that matched none. Absent from an older burrowd.
   */
  traceProbes: optional(
    object({
      answered: count,
      refused: array(object({ reason: text(32), count }), { max: 16 }),
      malformed: array(object({ field: text(32), count }), { max: 32 }),
      unmatched: count,
      unknownPeer: count,
    }),
  ),
  /**
   * The gateway's mapping of our WireGuard port (helper/portmap), offered to peers as a candidate:
   * how it was made and the public endpoint (null: none), and the gateway's answers refused, by
   * reason. Absent from an older burrowd, and while the tunnel is down.
   */
  portMapping: optional(
    object({
      mapping: nullable(
        object({ method: literal('pcp', 'nat-pmp', 'upnp'), endpoint: text(64), lifetimeSeconds: count }),
      ),
      refused: array(object({ reason: text(32), count }), { max: 32 }),
    }),
  ),
});
export type Status = Infer<typeof status>;

export const invite = object({
  id,
  device: text(63),
  owner: text(128),
  recipient: nullable(text(128)),
  state: literal('pending', 'accepted', 'declined', 'revoked', 'expired'),
  multiUse: boolean,
  expiresAt: integer({ min: 0, max: 8_640_000_000_000_000 }),
});
export const share = object({ id, device: text(63), owner: text(128), recipient: text(128) });
export const shareList = object({
  incoming: array(invite, { max: 10_000 }),
  outgoing: array(invite, { max: 10_000 }),
  /** Shares in effect: devices shared with us, and ours shared with others. */
  accepted: array(share, { max: 10_000 }),
});
export type ShareList = Infer<typeof shareList>;

export const exitNodeOption = object({
  id,
  hostName: text(63),
  ips: array(ip, { max: 4 }),
  online: boolean,
  selected: boolean,
});

/** `burrow dns status`: what burrowd's resolver answers, where it sends the rest, what it changed. */
export const dnsStatus = object({
  /** The acceptDns pref: whether the system's DNS is pointed at the resolver. */
  acceptDns: boolean,
  /** Whether the resolver runs (it does while the tunnel is up). */
  running: boolean,
  /** Where it listens (inside the tunnel: 100.100.100.100 and the network's ULA address). */
  addresses: array(ip, { max: 4 }),
  baseDomain: nullable(text(253)),
  /** How the system's DNS was changed: systemd-resolved per link, /etc/resolv.conf, or not at all. */
  backend: nullable(literal('resolved', 'file')),
  /** What was changed, in words (null: nothing). */
  changed: nullable(text(512)),
  searchDomains: array(text(253), { max: 16 }),
  /** Split DNS: names under `domain` go to `servers`. */
  routes: array(object({ domain: text(253), servers: array(text(64), { max: 8 }) }), { max: 256 }),
  /** Where every other name goes: the system's resolvers from before, or the network's (override). */
  upstreams: array(text(64), { max: 16 }),
  override: boolean,
  /** Queries taken, by transport; forwarded; and those refused, by reason (only those not zero). */
  counters: object({
    udp: count,
    tcp: count,
    forwarded: count,
    notLocal: count,
    tcpBusy: count,
  }),
  refusals: array(object({ reason: text(64), count }), { max: 64 }),
});
export type DnsStatus = Infer<typeof dnsStatus>;

/** `burrow dns query`: the answer burrowd's resolver gives, as a program would get it. */
export const dnsAnswer = object({
  name: text(253),
  type: text(16),
  /** NOERROR, NXDOMAIN, SERVFAIL, ... */
  rcode: text(16),
  /** Answered from the device names (authoritative), or by an upstream. */
  authoritative: boolean,
  answers: array(object({ name: text(253), type: text(16), ttl: count, data: text(1024) }), { max: 512 }),
});
export type DnsAnswer = Infer<typeof dnsAnswer>;

/**
 * `burrow trace`: the life of one packet to `target`, stage by stage (src/trace/report.ts: the
 * seven stages, each ok, blocked, skipped or unknown, and for the first that stops the packet its
 * cause and fix; exitCode 0 delivered, 1 blocked). burrowd sends real packets for it (a WireGuard
 * handshake if there is no session, a disco ping, a trace probe the peer answers, a SYN or a
 * datagram to the port), so it takes up to a few seconds.
 *
 * Read-only and open to every local user, and it reveals nothing such a caller could not see
 * already: the peers, owners, addresses, paths and handshakes `status` shows them; the kernel's
 * route, which any local user can ask for; and what a packet the caller could send itself would
 * meet (the peer's verdict, whether the port answers). The one thing more, the index and text of
 * the peer's rule that admits the packet, is shown only to root and the operator
 * (reportForReader, src/trace/trace-report.ts, takes it out for the others).
 */
export const traceRequest = object({
  /** A device name (short or full), a DNS name, or an IP address. */
  target: string({ min: 1, max: 253 }),
  /** tcp by default; icmp traces a ping. */
  proto: optional(traceProtocol),
  /** Required for tcp and udp (1-65535); not given for icmp. */
  port: optional(integer({ min: 1, max: 65535 })),
});
export type TraceRequest = Infer<typeof traceRequest>;

export const event = tagged('type', {
  /** authUrl as in status: null for a subscriber who may not change burrowd. */
  state: object({ type: literal('state'), backendState, authUrl: nullable(url) }),
  netmap: object({ type: literal('netmap'), status }),
  invites: object({ type: literal('invites'), shares: shareList }),
});
export type Event = Infer<typeof event>;

// --- operations ---

const empty = object({});

interface Operation<Req, Res> {
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly path: string;
  /** Changes something: only root and the operator user may call it. */
  readonly mutating: boolean;
  readonly request: Schema<Req>;
  readonly response: Schema<Res>;
}

const op = <Req, Res>(
  method: Operation<Req, Res>['method'],
  path: string,
  mutating: boolean,
  request: Schema<Req>,
  response: Schema<Res>,
): Operation<Req, Res> => ({ method, path, mutating, request, response });

export const operations = {
  status: op('GET', '/status', false, empty, status),
  peers: op('GET', '/peers', false, empty, array(peerStatus, { max: 20_000 })),
  getPrefs: op('GET', '/prefs', false, empty, prefs),
  setPrefs: op('PATCH', '/prefs', true, prefsPatch, prefs),
  up: op(
    'POST',
    '/up',
    true,
    object({
      controlUrl: optional(controlUrls),
      authKey: optional(string({ min: 1, max: 256 })),
      hostname: optional(hostname),
      advertiseRoutes: optional(array(cidr, { max: 256 })),
      advertiseExitNode: optional(boolean),
      acceptRoutes: optional(boolean),
      acceptDns: optional(boolean),
    }),
    object({ backendState, authUrl: nullable(url) }),
  ),
  down: op('POST', '/down', true, empty, object({ backendState })),
  login: op('POST', '/login', true, empty, object({ authUrl: nullable(url) })),
  logout: op('POST', '/logout', true, empty, object({ backendState })),
  ping: op(
    'POST',
    '/ping',
    false,
    object({ peer: peerRef, timeoutMs: optional(integer({ min: 1, max: 60_000 })) }),
    object({
      peer: text(63),
      ip,
      ms: integer({ min: 0, max: 60_000 }),
      /** How the reply came back: directly from `endpoint`, or through the relay region `relay`. */
      path: literal('direct', 'relay'),
      endpoint: nullable(text(64)),
      relay: nullable(text(64)),
    }),
  ),
  listShares: op('GET', '/shares', false, empty, shareList),
  createShare: op(
    'POST',
    '/shares/create',
    true,
    object({ device: peerRef, to: optional(text(128)), multiUse: optional(boolean) }),
    object({ invite, code: text(256) }),
  ),
  acceptShare: op('POST', '/shares/accept', true, object({ ref: string({ min: 1, max: 256 }) }), share),
  declineShare: op('POST', '/shares/decline', true, object({ id }), invite),
  revokeShare: op('POST', '/shares/revoke', true, object({ id }), object({ revoked: id })),
  listExitNodes: op('GET', '/exit-nodes', false, empty, array(exitNodeOption, { max: 20_000 })),
  dnsStatus: op('GET', '/dns/status', false, empty, dnsStatus),
  dnsQuery: op(
    'POST',
    '/dns/query',
    false,
    object({
      /** A DNS name, or an IP address (asked as its reverse name, type PTR). */
      name: string({ min: 1, max: 253 }),
      /** A, AAAA, PTR, ... or a number; A by default (PTR for an address). */
      type: optional(string({ min: 1, max: 10, pattern: /^[A-Za-z0-9]+$/, what: 'a record type' })),
    }),
    dnsAnswer,
  ),
  trace: op('POST', '/trace', false, traceRequest, traceReport),
  events: op('GET', '/events', false, empty, event),
} as const;

export type Operations = typeof operations;
export type OperationName = keyof Operations;
export type RequestOf<N extends OperationName> = Infer<Operations[N]['request']>;
export type ResponseOf<N extends OperationName> = Infer<Operations[N]['response']>;

export const errorBody = object({ error: text(4096) });
