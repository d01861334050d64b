import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_BASE_DOMAIN } from '../../src/control/dns-settings.js';
import {
  array,
  boolean,
  integer,
  object,
  optional,
  parseJson,
  SchemaError,
  string,
} from '../../src/control/schema.js';
import { HujsonError, PolicyError, parsePolicy, runPolicyTests } from '../../src/policy/index.js';
import { dnsSection } from '../coordinator/dns-section.js';
import { policyContext } from '../policy-context.js';
import { StoreError, type StoreErrorCode } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { ApiKey, Device, Network, User } from '../store/types.js';

/**
 * The admin HTTP API under /api/v1, for scripts and dashboards. Every request carries
 * `Authorization: Bearer bapi-...` (an API key from `burrow-server apikeys create`); bodies are JSON
 * (a policy is HuJSON text), at most 64 KiB, checked against a schema; answers are JSON, errors
 * `{"error": "..."}` with a status that says what went wrong.
 *
 * GET and PUT /dns?network=NAME read and replace a network's DNS settings (server/README.md).
 *
 * A key sees and changes its own network only. Whatever is in another network is answered exactly
 * as a missing one (404, the same words), never 403: a key learns nothing of other networks, not
 * even which ids or names exist there. The one thing that cannot be hidden: user names are unique
 * server-wide, so creating a user whose name is taken in another network is refused as taken (409).
 */

const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const STATUS: Partial<Record<StoreErrorCode, number>> = {
  'not-found': 404,
  'duplicate-name': 409,
  'duplicate-key': 409,
  invalid: 400,
  forbidden: 403,
  'api-key-unknown': 401,
  'api-key-expired': 401,
  // The database is unreachable: nothing was done; Retry-After says when to ask again.
  unavailable: 503,
};

const cidr = string({ max: 43, pattern: /^[0-9a-fA-F:./]+\/\d{1,3}$/, what: 'an IP prefix' });
const routesBody = object({ routes: array(cidr, { max: 256 }), exitNode: boolean });
const renameBody = object({ name: string({ min: 1, max: 63 }) });
const userBody = object({
  name: string({ min: 1, max: 128 }),
  network: optional(string({ min: 1, max: 64 })),
  password: optional(string({ min: 8, max: 256 })),
});
/** A network's DNS settings, whole (what PUT /dns replaces them with); checked by the store. */
const dnsBody = object({
  nameservers: array(string({ min: 1, max: 64 }), { max: 64 }),
  routes: array(
    object({
      domain: string({ min: 1, max: 254 }),
      servers: array(string({ min: 1, max: 64 }), { max: 64 }),
    }),
    { max: 1024 },
  ),
  searchDomains: array(string({ min: 1, max: 254 }), { max: 64 }),
  override: boolean,
});
const authKeyBody = object({
  user: string({ min: 1, max: 128 }),
  reusable: optional(boolean),
  ephemeral: optional(boolean),
  expiresInSeconds: optional(integer({ min: 60, max: 10 * 365 * 86400 })),
});

async function body(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const retry = status === 503 ? { 'retry-after': '5' } : {};
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...retry })
    .end(`${JSON.stringify(value)}\n`);
}

/** The lists `f` gives for each item, one after another, joined. */
async function listAll<T, U>(items: readonly T[], f: (item: T) => Promise<U[]>): Promise<U[]> {
  const out: U[] = [];
  for (const item of items) out.push(...(await f(item)));
  return out;
}

/**
 * What one key may reach: its network, or every network for a key made before keys had networks.
 * Every lookup of a record by id or name goes through here, and one in another network reads as
 * missing.
 */
class KeyScope {
  constructor(
    private readonly store: Store,
    private readonly key: ApiKey,
  ) {}

  private sees(networkId: string): boolean {
    return this.key.networkId === null || this.key.networkId === networkId;
  }

  async networks(): Promise<Network[]> {
    const { networkId } = this.key;
    return networkId === null ? this.store.listNetworks() : [await this.store.getNetwork(networkId)];
  }

  /** By name, or without one the key's network (a key for every network: the only one there is). */
  async network(name: string | null): Promise<Network> {
    if (name === null) {
      const all = await this.networks();
      if (all.length !== 1) throw new HttpError(400, 'name the network: ?network=NAME');
      return all[0]!;
    }
    const n = await this.store.findNetworkByName(name);
    if (!n || !this.sees(n.id)) throw new HttpError(404, `no network "${name}"`);
    return n;
  }

  async device(id: string): Promise<Device> {
    let device: Device | null = null;
    try {
      device = await this.store.getDevice(id);
    } catch (error) {
      if (!(error instanceof StoreError && error.code === 'not-found')) throw error;
    }
    if (!device || !this.sees(device.networkId)) throw new StoreError('not-found', `no device ${id}`);
    return device;
  }

  async user(name: string): Promise<User> {
    const user = await this.store.findUserByName(name);
    if (!user || !this.sees(user.networkId)) throw new HttpError(404, `no user "${name}"`);
    return user;
  }

  /** Where a new user goes: the named network, or the key's; a key for every network may make one. */
  async networkForNewUser(name: string | undefined, now: number): Promise<string | undefined> {
    if (this.key.networkId !== null) return (await this.network(name ?? null)).id;
    if (name === undefined) return undefined; // a personal network named after the user
    return ((await this.store.findNetworkByName(name)) ?? (await this.store.createNetwork({ name }, now))).id;
  }
}

/** Handles a request under /api/v1; returns false for other paths. */
export async function adminApi(
  store: Store,
  req: IncomingMessage,
  res: ServerResponse,
  now: number,
  /** Device names are HOST.NETWORK.<baseDomain>: DNS routes may not take names under it. */
  baseDomain = DEFAULT_BASE_DOMAIN,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://x');
  if (!url.pathname.startsWith('/api/v1/')) return false;
  try {
    // Browsers attach ambient credentials; this API takes only explicit bearer keys, and refuses
    // anything a web page could have sent on someone's behalf.
    if (req.headers.origin !== undefined) throw new HttpError(403, 'cross-origin requests are refused');
    const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!auth) throw new HttpError(401, 'missing Authorization: Bearer <api key>');
    const scope = new KeyScope(store, await store.verifyApiKey(auth[1]!, now));
    const path = url.pathname.slice('/api/v1'.length);
    const method = req.method ?? 'GET';
    const deviceRoute = /^\/devices\/([A-Za-z0-9_-]{1,64})(\/routes)?$/.exec(path);
    if (method === 'GET' && path === '/devices') {
      send(
        res,
        200,
        await listAll(await scope.networks(), async (n) =>
          (await store.listDevices(n.id)).map((d) => ({ ...d, network: n.name })),
        ),
      );
    } else if (deviceRoute && method === 'DELETE' && !deviceRoute[2]) {
      await store.deleteDevice((await scope.device(deviceRoute[1]!)).id, now);
      send(res, 200, { deleted: deviceRoute[1] });
    } else if (deviceRoute && method === 'PATCH' && !deviceRoute[2]) {
      const b = parseJson(renameBody, await body(req), 'body');
      send(res, 200, await store.renameDevice((await scope.device(deviceRoute[1]!)).id, b.name, now));
    } else if (deviceRoute && method === 'POST' && deviceRoute[2]) {
      const b = parseJson(routesBody, await body(req), 'body');
      send(res, 200, await store.approveRoutes((await scope.device(deviceRoute[1]!)).id, b, now));
    } else if (method === 'GET' && path === '/users') {
      send(
        res,
        200,
        await listAll(await scope.networks(), async (n) =>
          (await store.listUsers(n.id)).map((u) => ({ ...u, network: n.name })),
        ),
      );
    } else if (method === 'POST' && path === '/users') {
      const b = parseJson(userBody, await body(req), 'body');
      const user = await store.transaction(async () => {
        const networkId = await scope.networkForNewUser(b.network, now);
        return store.createUser(
          {
            name: b.name,
            ...(networkId ? { networkId } : {}),
            ...(b.password ? { password: b.password } : {}),
          },
          now,
        );
      });
      send(res, 201, user);
    } else if (method === 'POST' && path === '/authkeys') {
      const b = parseJson(authKeyBody, await body(req), 'body');
      const user = await scope.user(b.user);
      const { authKey, secret } = await store.createAuthKey(
        {
          userId: user.id,
          reusable: b.reusable ?? false,
          ephemeral: b.ephemeral ?? false,
          ...(b.expiresInSeconds ? { expiresAt: now + b.expiresInSeconds * 1000 } : {}),
        },
        now,
      );
      send(res, 201, { key: secret, authKey });
    } else if (path === '/dns' && (method === 'GET' || method === 'PUT')) {
      // What the network's devices are sent (burrow-server dns show --json); PUT replaces the
      // settings whole, or refuses them (400, naming the field) and changes nothing.
      const n = await scope.network(url.searchParams.get('network'));
      const settings =
        method === 'PUT'
          ? await store.setDnsSettings(n.id, parseJson(dnsBody, await body(req), 'body'), now, baseDomain)
          : await store.getDnsSettings(n.id);
      send(res, 200, {
        network: n.name,
        ...dnsSection(n, settings, baseDomain),
        updatedAt: settings.updatedAt,
      });
    } else if (path === '/policy' && method === 'GET') {
      const n = await scope.network(url.searchParams.get('network'));
      send(res, 200, { network: n.name, policy: (await store.getPolicy(n.id))?.text ?? null });
    } else if (path === '/policy' && method === 'PUT') {
      const n = await scope.network(url.searchParams.get('network'));
      const text = await body(req);
      const result = runPolicyTests(parsePolicy(text, 'body'), await policyContext(store, n.id));
      if (!result.ok) throw new HttpError(400, `policy tests failed: ${result.failures.join('; ')}`);
      await store.setPolicy(n.id, text, now);
      send(res, 200, { network: n.name, updated: true });
    } else {
      throw new HttpError(404, `no ${method} ${url.pathname}`);
    }
  } catch (error) {
    if (error instanceof HttpError) send(res, error.status, { error: error.message });
    else if (error instanceof StoreError)
      send(res, STATUS[error.code] ?? 400, { error: error.message, code: error.code });
    else if (error instanceof SchemaError || error instanceof PolicyError || error instanceof HujsonError) {
      send(res, 400, { error: error.message });
    } else throw error;
  }
  return true;
}
