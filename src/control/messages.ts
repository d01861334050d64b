import { canonicalDomain, canonicalNameserver, DNS_LIMITS, DnsSettingsError } from './dns-settings.js';
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
} from './schema.js';

/**
 * The control protocol, version 1: what a device (burrowd) and burrow-server say to each other
 * inside the Noise channel, one JSON message per frame. Every message is validated where it
 * arrives with these schemas; anything else closes the connection.
 */

export const PROTOCOL_VERSION = 1;

const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]{2,39}$/;
const IP_OR_CIDR = /^([0-9.]{7,15}|[0-9a-fA-F:]{2,39})(\/\d{1,3})?$/;
const ENDPOINT = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]{2,39}\]):\d{1,5}$/;
/**
 * HOST:PORT where HOST is [an IPv6 address] or a DNS name: dot-separated labels of letters, digits
 * and inner hyphens, 63 characters at most each (which an IPv4 address is too, as far as form goes).
 */
const HOST_PORT =
  /^(\[[0-9a-fA-F:]{2,39}\]|([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?):\d{1,5}$/;

export const key = string({ max: 44, pattern: KEY, what: 'a base64 32-byte key' });
export const ip = string({
  max: 39,
  pattern: new RegExp(`${IPV4.source}|${IPV6.source}`),
  what: 'an IP address',
});
export const cidr = string({ max: 43, pattern: IP_OR_CIDR, what: 'an IP prefix' });
export const endpoint = string({ max: 47, pattern: ENDPOINT, what: 'an endpoint (ip:port or [ip6]:port)' });
/** An IP address or a DNS name, and a port (a name is resolved by whoever uses it). */
export const hostPort = string({
  max: 260,
  pattern: HOST_PORT,
  what: 'HOST:PORT (an IP address, [IPv6 address] or DNS name, and a port)',
});
export const hostname = string({
  min: 1,
  max: 63,
  pattern: /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/,
  what: 'a host name',
});
const id = string({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/, what: 'an id' });
const text = string({ max: 512 });
const unixMs = integer({ min: 0, max: 8_640_000_000_000_000 });
const seq = integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
/** Correlates a request with its answer: the server echoes it. */
const requestId = integer({ min: 0, max: 2 ** 31 });
/** A relay region's id, as in the relay map. */
const regionId = integer({ min: 1, max: 65535 });
const userName = string({ min: 1, max: 128, pattern: /^[^\s\p{C}]+$/u, what: 'a user name' });
const inviteCode = string({
  max: 64,
  pattern: /^binv-[0-9a-f]{12}-[A-Za-z0-9_-]{43}$/,
  what: 'an invite code (binv-...)',
});

/** Lists in a share-list reply hold at most this many records each (the newest, for invites). */
export const MAX_SHARE_LIST = 10_000;

type OneOf<T, K extends keyof T> = {
  [P in K]-?: Omit<T, K> & Required<Pick<T, P>> & Partial<Record<Exclude<K, P>, undefined>>;
}[K];

/** An object schema that also requires exactly one of `keys`: the schema library has no unions. */
function exactlyOne<T extends object, K extends keyof T & string>(
  inner: Schema<T>,
  keys: readonly K[],
): Schema<OneOf<T, K>> {
  return {
    parse(value, path = '$') {
      const parsed = inner.parse(value, path);
      if (keys.filter((k) => parsed[k] !== undefined).length !== 1) {
        throw new SchemaError(path, `expected exactly one of ${keys.join(', ')}`);
      }
      return parsed as OneOf<T, K>;
    },
  };
}

/** The payload of the first Noise message: who is connecting. `ts` bounds replays of that message. */
export const clientHello = object({
  v: literal(PROTOCOL_VERSION),
  ts: unixMs,
});

/** The payload of the server's Noise reply. */
export const serverHello = object({
  v: literal(PROTOCOL_VERSION),
});

// --- device -> server ---

export const registerRequest = object({
  type: literal('register'),
  nodeKey: key,
  discoKey: key,
  hostname,
  authKey: optional(string({ min: 1, max: 256 })),
  /** Ask for a new node key to replace the old one (rotation), proven by this channel's machine key. */
  oldNodeKey: optional(key),
});

export const mapRequest = object({
  type: literal('map'),
  /** The last change sequence the device applied; the server answers with a full map if it cannot
   * send the changes since then. */
  since: optional(seq),
  endpoints: array(endpoint, { max: 32 }),
  /** The device's home relay region (its lowest-latency one); absent while it has none. */
  homeRelay: optional(regionId),
});

/** The device's live reachability, sent whenever its endpoints or home relay change. */
export const endpointsUpdate = object({
  type: literal('endpoints'),
  endpoints: array(endpoint, { max: 32 }),
  /** Absent: the device has no home relay (any one it reported before no longer holds). */
  homeRelay: optional(regionId),
});

export const routesUpdate = object({
  type: literal('routes'),
  advertiseRoutes: array(cidr, { max: 256 }),
  advertiseExitNode: boolean,
});

export const ping = object({ type: literal('ping'), id: requestId });

// Sharing: requests a device makes as the user who owns it (the server takes the user from the
// device the channel registered as, never from the request). Each is answered by a `reply` with
// the same id; a refusal is a reply too, and the channel stays open.

/** Offers one of the user's devices to `recipient` (a user name), or as a link for whoever holds its code. */
export const shareCreate = object({
  type: literal('share-create'),
  id: requestId,
  deviceId: id,
  recipient: optional(userName),
  /** Link invites only: any number of users may accept it until it is revoked or expires. */
  multiUse: optional(boolean),
});

/** The user's incoming and outgoing invites and the shares in effect both ways. */
export const shareList = object({ type: literal('share-list'), id: requestId });

/** By code (a link, or a named invite) or by id (an invite naming the user). */
export const shareAccept = exactlyOne(
  object({
    type: literal('share-accept'),
    id: requestId,
    code: optional(inviteCode),
    inviteId: optional(id),
  }),
  ['code', 'inviteId'],
);

export const shareDecline = object({ type: literal('share-decline'), id: requestId, inviteId: id });

/**
 * By the device's owner or a recipient, as the store allows: an invite (the owner ends it and every
 * share made from it; a recipient ends their own share) or one share.
 */
export const shareRevoke = exactlyOne(
  object({ type: literal('share-revoke'), id: requestId, inviteId: optional(id), shareId: optional(id) }),
  ['inviteId', 'shareId'],
);

export const clientMessage = tagged('type', {
  register: registerRequest,
  map: mapRequest,
  endpoints: endpointsUpdate,
  routes: routesUpdate,
  ping,
  'share-create': shareCreate,
  'share-list': shareList,
  'share-accept': shareAccept,
  'share-decline': shareDecline,
  'share-revoke': shareRevoke,
});
export type ClientMessage = Infer<typeof clientMessage>;
export type ShareRequest = Extract<ClientMessage, { type: `share-${string}` }>;
/** A share request before the sender gives it its id. */
export type ShareRequestBody = ShareRequest extends infer R
  ? R extends unknown
    ? Omit<R, 'id'>
    : never
  : never;

// --- server -> device ---

export const node = object({
  id,
  name: hostname,
  user: string({ min: 1, max: 128 }),
  /** The name of the network the node belongs to (differs from ours for a device shared with us). */
  network: string({ min: 1, max: 128 }),
  ips: array(ip, { max: 4 }),
  nodeKey: key,
  discoKey: key,
  endpoints: array(endpoint, { max: 32 }),
  /**
   * The relay region that reaches the node (its home relay), null when it reported none. The server
   * always sends it; optional so that maps cached by older versions still parse.
   */
  homeRelay: optional(nullable(regionId)),
  online: boolean,
  lastSeen: nullable(unixMs),
  keyExpiry: nullable(unixMs),
  /** Shared into our network by another user; it may receive connections but never start one. */
  shared: boolean,
  exitNodeOption: boolean,
  /** Subnet routes approved for this node, besides its own addresses. */
  routes: array(cidr, { max: 256 }),
});
export type NodeInfo = Infer<typeof node>;

const portRange = object({ first: integer({ min: 0, max: 65535 }), last: integer({ min: 0, max: 65535 }) });
export const filterRule = object({
  srcIps: array(cidr, { max: 65536 }),
  dstPorts: array(object({ ip: string({ max: 43, pattern: /^(\*|[0-9a-fA-F:./]+)$/ }), ports: portRange }), {
    max: 4096,
  }),
  protocols: array(integer({ min: 0, max: 255 }), { max: 16 }),
});

export const relayRegion = object({
  id: regionId,
  name: string({ min: 1, max: 64 }),
  url: string({ min: 1, max: 256, pattern: /^(wss?|https?):\/\//, what: 'a relay URL' }),
  /** The relay's static key, which devices pin when they connect to it. */
  publicKey: optional(key),
  /**
   * Where its STUN server answers. A name is resolved by each device, through its own resolver,
   * each time it asks (the name may move, and the server's own view of it may not be the devices').
   */
  stun: optional(hostPort),
});

export type RelayRegion = Infer<typeof relayRegion>;

/** A string that must already be in the normal form `canonical` gives (which throws if it has none). */
function canonical(inner: Schema<string>, canonical: (text: string) => string, what: string): Schema<string> {
  return {
    parse(value, path = '$') {
      const text = inner.parse(value, path);
      try {
        if (canonical(text) === text) return text;
      } catch (error) {
        if (!(error instanceof DnsSettingsError)) throw error;
      }
      throw new SchemaError(path, `expected ${what}, got ${JSON.stringify(text.slice(0, 60))}`);
    },
  };
}

const domainName = canonical(string({ min: 1, max: 253 }), canonicalDomain, 'a lower-case DNS name');
const nameserver = canonical(
  string({ min: 1, max: 47 }),
  canonicalNameserver,
  'a name server (IP, IPv4:PORT or [IPv6]:PORT)',
);

/**
 * The device's DNS configuration: where its own resolver answers, the names it answers, and what
 * the network's admin set (`burrow-server dns`). Sent whole in the full map and in a delta when
 * it changes. The resolver answers `HOST` and `HOST.NETWORK.<baseDomain>` for the nodes of the
 * map (names as src/control/device-names.ts gives them) and forwards everything else: names
 * under a route's domain (the longest match) to that route's servers, and the rest to
 * `nameservers` when `override` is set, else to the resolvers the system had before Burrow.
 */
export const dnsConfig = object({
  /** The zone device names live in (server config `dns.baseDomain`, default burrow.internal). */
  baseDomain: domainName,
  /**
   * The addresses the device's own resolver listens on, inside the tunnel: 100.100.100.100 and
   * `PREFIX::53` in the network's ULA. Neither is ever a device's address.
   */
  resolver: object({ ipv4: ip, ipv6: ip }),
  /** Extra name servers the network's admin set; used for every name only with `override`. */
  nameservers: array(nameserver, { max: DNS_LIMITS.nameservers }),
  /** Split DNS, sorted by domain: names under `domain` go to `servers` (never empty). */
  routes: array(
    object({
      domain: domainName,
      servers: nonEmpty(array(nameserver, { max: DNS_LIMITS.serversPerRoute })),
    }),
    { max: DNS_LIMITS.routes },
  ),
  /**
   * Search domains in order: the network's own subdomain (`NETWORK.<baseDomain>`) first, so short
   * names also resolve by search, then the admin's.
   */
  searchDomains: array(domainName, { max: DNS_LIMITS.searchDomains + 1 }),
  /** Send every name not answered locally or routed to `nameservers`, not to the system's resolvers. */
  override: boolean,
});
export type DnsConfig = Infer<typeof dnsConfig>;

function nonEmpty<T>(inner: Schema<T[]>): Schema<T[]> {
  return {
    parse(value, path = '$') {
      const list = inner.parse(value, path);
      if (list.length === 0) throw new SchemaError(path, 'must have at least one item');
      return list;
    },
  };
}

export const netmap = object({
  self: node,
  peers: array(node, { max: 20_000 }),
  filter: array(filterRule, { max: 20_000 }),
  relays: array(relayRegion, { max: 64 }),
  /** The server always sends it; optional so that maps cached by older versions still parse. */
  dns: optional(dnsConfig),
});
export type Netmap = Infer<typeof netmap>;

export const registerResult = tagged('status', {
  ok: object({ type: literal('register-result'), status: literal('ok'), self: node }),
  'login-required': object({
    type: literal('register-result'),
    status: literal('login-required'),
    url: string({ min: 1, max: 2048, pattern: /^https?:\/\//, what: 'a URL' }),
  }),
  refused: object({ type: literal('register-result'), status: literal('refused'), reason: text }),
});

export const fullMap = object({ type: literal('full-map'), seq, map: netmap });

export const mapDelta = object({
  type: literal('delta'),
  seq,
  peersAdded: optional(array(node, { max: 20_000 })),
  peersChanged: optional(array(node, { max: 20_000 })),
  peersRemoved: optional(array(id, { max: 20_000 })),
  /** The whole new filter, when its rules changed. */
  filter: optional(array(filterRule, { max: 20_000 })),
  /**
   * Or, when only the sources of some rules changed (a device joined or left a group the rules
   * name), just those: addresses removed from then added to rule `index` of the current filter.
   */
  filterPatch: optional(
    array(
      object({
        index: integer({ min: 0, max: 19_999 }),
        srcAdded: array(cidr, { max: 65536 }),
        srcRemoved: array(cidr, { max: 65536 }),
      }),
      { max: 20_000 },
    ),
  ),
  self: optional(node),
  /** The whole new DNS configuration, when the network's admin changed it. */
  dns: optional(dnsConfig),
});
export type MapDelta = Infer<typeof mapDelta>;

export const pong = object({ type: literal('pong'), id: requestId });
export const serverError = object({ type: literal('error'), reason: text });

/** An invite as its owner and recipient see it: names besides ids, and never its code. */
export const inviteInfo = object({
  id,
  deviceId: id,
  /** The shared device's name. */
  device: hostname,
  owner: userName,
  /** null for a link invite. */
  recipient: nullable(userName),
  /** The start of the code, to tell codes apart. */
  prefix: string({ max: 12, pattern: /^[0-9a-f]{12}$/, what: 'an invite code prefix' }),
  multiUse: boolean,
  state: literal('pending', 'accepted', 'declined', 'revoked', 'expired'),
  createdAt: unixMs,
  expiresAt: unixMs,
});
export type InviteInfo = Infer<typeof inviteInfo>;

/** A share in effect: `recipient`'s devices see the device. */
export const shareInfo = object({
  id,
  inviteId: id,
  deviceId: id,
  device: hostname,
  owner: userName,
  recipient: userName,
  createdAt: unixMs,
});
export type ShareInfo = Infer<typeof shareInfo>;

/** What each share request returns, tagged by the request's type. */
export const shareResult = tagged('op', {
  /** The code is in this reply only: it is the capability, and the server keeps only its hash. */
  'share-create': object({ op: literal('share-create'), invite: inviteInfo, code: inviteCode }),
  'share-list': object({
    op: literal('share-list'),
    incoming: array(inviteInfo, { max: MAX_SHARE_LIST }),
    outgoing: array(inviteInfo, { max: MAX_SHARE_LIST }),
    /** Devices shared with the user, and the user's devices shared with others. */
    accepted: array(shareInfo, { max: MAX_SHARE_LIST }),
  }),
  'share-accept': object({ op: literal('share-accept'), share: shareInfo }),
  'share-decline': object({ op: literal('share-decline'), invite: inviteInfo }),
  'share-revoke': object({ op: literal('share-revoke') }),
});
export type ShareResult = Infer<typeof shareResult>;
/** The result that answers a share request of type `T`. */
export type ShareResultOf<T extends ShareRequest['type']> = Extract<ShareResult, { op: T }>;

/** The answer to the request with the same id: its result, or why it was refused. */
export const reply = tagged('outcome', {
  ok: object({ type: literal('reply'), id: requestId, outcome: literal('ok'), result: shareResult }),
  error: object({ type: literal('reply'), id: requestId, outcome: literal('error'), error: text }),
});
export type Reply = Infer<typeof reply>;

/**
 * The user's invites or shares changed through some device's request (an invite addressed to the
 * user, an acceptance, a revocation): ask share-list again. Changes made elsewhere (the admin CLI,
 * an invite expiring) are not announced.
 */
export const sharesChanged = object({ type: literal('shares-changed') });

export const serverMessage = tagged('type', {
  'register-result': registerResult,
  'full-map': fullMap,
  delta: mapDelta,
  pong,
  error: serverError,
  reply,
  'shares-changed': sharesChanged,
});
export type ServerMessage = Infer<typeof serverMessage>;
