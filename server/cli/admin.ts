import { readFileSync } from 'node:fs';
import { PolicyError, parsePolicy, runPolicyTests } from '../../src/policy/index.js';
import { policyContext } from '../policy-context.js';
import type { Store } from '../store/store.js';
import type { Device } from '../store/types.js';
import { parseArgs, parseDuration, UsageError } from './args.js';

/** Where a command writes: stdout carries only the result (so scripts can capture it), stderr the rest. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Reads a line typed at the terminal without showing it (absent: there is no terminal). */
  readSecret?(prompt: string): string;
}

/** `f` of each item, one after another. */
async function mapEach<T, U>(items: readonly T[], f: (item: T) => Promise<U>): Promise<U[]> {
  const out: U[] = [];
  for (const item of items) out.push(await f(item));
  return out;
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return `${rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** A device named by id, or by name (with --network when the name is in several networks). */
async function findDevice(store: Store, ref: string, networkName?: string): Promise<Device> {
  const networks = networkName ? [await mustNetwork(store, networkName)] : await store.listNetworks();
  const matches = (await mapEach(networks, (n) => store.listDevices(n.id)))
    .flat()
    .filter((d) => d.id === ref || d.name === ref);
  if (matches.length === 0)
    throw new UsageError(`no device "${ref}"${networkName ? ` in network ${networkName}` : ''}`);
  if (matches.length > 1)
    throw new UsageError(`"${ref}" names devices in several networks; add --network NET`);
  return matches[0]!;
}

async function mustNetwork(store: Store, name: string) {
  const network = await store.findNetworkByName(name);
  if (!network) throw new UsageError(`no network "${name}"`);
  return network;
}

export async function authkeysCreate(store: Store, argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, {
    user: 'string',
    reusable: 'boolean',
    ephemeral: 'boolean',
    expiry: 'string',
    tags: 'string',
  });
  if (positional.length || typeof flags.user !== 'string') {
    throw new UsageError(
      'usage: burrow-server authkeys create --user NAME [--reusable] [--ephemeral] [--expiry DUR] [--tags tag:a,tag:b]',
    );
  }
  const user = await store.findUserByName(flags.user);
  if (!user) throw new UsageError(`no user "${flags.user}"`);
  const tags = typeof flags.tags === 'string' ? flags.tags.split(',').filter(Boolean) : [];
  for (const tag of tags)
    if (!/^tag:[a-z0-9-]+$/.test(tag)) throw new UsageError(`--tags: "${tag}" is not tag:name`);
  const { secret, authKey } = await store.createAuthKey(
    {
      userId: user.id,
      reusable: flags.reusable === true,
      ephemeral: flags.ephemeral === true,
      tags,
      ...(typeof flags.expiry === 'string'
        ? { expiresAt: now + parseDuration('--expiry', flags.expiry) }
        : {}),
    },
    now,
  );
  io.out(`${secret}\n`);
  io.err(`auth key ${authKey.prefix} for ${user.name}, expires ${iso(authKey.expiresAt)}\n`);
}

export async function devicesList(store: Store, argv: string[], io: Io): Promise<void> {
  const { flags, positional } = parseArgs(argv, { json: 'boolean', network: 'string' });
  if (positional.length) throw new UsageError('usage: burrow-server devices list [--network NET] [--json]');
  const networks =
    typeof flags.network === 'string'
      ? [await mustNetwork(store, flags.network)]
      : await store.listNetworks();
  const rows = (
    await mapEach(networks, async (n) =>
      mapEach(await store.listDevices(n.id), async (d) => ({
        device: d,
        network: n.name,
        user: (await store.getUser(d.userId)).name,
      })),
    )
  ).flat();
  if (flags.json) {
    io.out(
      `${JSON.stringify(
        rows.map((r) => ({ ...r.device, network: r.network, user: r.user })),
        null,
        2,
      )}\n`,
    );
    return;
  }
  const head = ['NETWORK', 'NAME', 'USER', 'IPV4', 'IPV6', 'ONLINE', 'KEY EXPIRY', 'ROUTES'];
  const body = rows.map(({ device: d, network, user }) => [
    network,
    d.name,
    user,
    d.ipv4,
    d.ipv6,
    d.online ? 'yes' : 'no',
    iso(d.keyExpiry),
    [...d.approvedRoutes, ...(d.exitNodeApproved ? ['exit-node'] : [])].join(',') || '-',
  ]);
  io.out(table([head, ...body]));
}

/** `devices rename DEVICE NAME`: the new name must be a DNS label free in the device's network. */
export async function devicesRename(store: Store, argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, { network: 'string' });
  const [ref, name, ...extra] = positional;
  if (!ref || !name || extra.length)
    throw new UsageError('usage: burrow-server devices rename DEVICE NEW-NAME [--network NET]');
  const device = await findDevice(store, ref, typeof flags.network === 'string' ? flags.network : undefined);
  io.err(`${device.name} is now ${(await store.renameDevice(device.id, name, now)).name}\n`);
}

/** `devices delete DEVICE`: its addresses stay unused; its shares and invites end. */
export async function devicesDelete(store: Store, argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, { network: 'string' });
  if (positional.length !== 1)
    throw new UsageError('usage: burrow-server devices delete DEVICE [--network NET]');
  const device = await findDevice(
    store,
    positional[0]!,
    typeof flags.network === 'string' ? flags.network : undefined,
  );
  await store.deleteDevice(device.id, now);
  io.err(`deleted ${device.name} (${device.ipv4})\n`);
}

/** `devices expiry DEVICE (DUR | never)`: re-authenticates the node key for that long from now. */
export async function devicesExpiry(store: Store, argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, { network: 'string' });
  const [ref, duration, ...extra] = positional;
  if (!ref || !duration || extra.length)
    throw new UsageError('usage: burrow-server devices expiry DEVICE (DURATION | never) [--network NET]');
  const device = await findDevice(store, ref, typeof flags.network === 'string' ? flags.network : undefined);
  const expiry = duration === 'never' ? null : now + parseDuration('DURATION', duration);
  const updated = await store.reauthenticateDevice(device.id, now, expiry);
  io.err(
    `${updated.name}: node key expires ${updated.keyExpiry === null ? 'never' : iso(updated.keyExpiry)}\n`,
  );
}

export async function routesApprove(store: Store, argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, { 'exit-node': 'boolean', network: 'string' });
  const [ref, ...cidrs] = positional;
  if (!ref || (cidrs.length === 0 && !flags['exit-node'])) {
    throw new UsageError(
      'usage: burrow-server routes approve DEVICE (--exit-node | CIDR...) [--network NET]',
    );
  }
  const device = await findDevice(store, ref, typeof flags.network === 'string' ? flags.network : undefined);
  const routes = [...new Set([...device.approvedRoutes, ...cidrs])];
  const updated = await store.approveRoutes(
    device.id,
    { routes, exitNode: device.exitNodeApproved || flags['exit-node'] === true },
    now,
  );
  const pending = updated.approvedRoutes.filter((r) => !updated.advertisedRoutes.includes(r));
  io.err(
    `${updated.name}: approved ${[...updated.approvedRoutes, ...(updated.exitNodeApproved ? ['exit node'] : [])].join(', ')}` +
      `${pending.length ? ` (not advertised yet: ${pending.join(', ')})` : ''}\n`,
  );
}

export async function sharesList(store: Store, argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, { json: 'boolean', user: 'string' });
  if (positional.length) throw new UsageError('usage: burrow-server shares list [--user NAME] [--json]');
  const users =
    typeof flags.user === 'string'
      ? [
          (await store.findUserByName(flags.user)) ??
            (() => {
              throw new UsageError(`no user "${flags.user}"`);
            })(),
        ]
      : (await mapEach(await store.listNetworks(), (n) => store.listUsers(n.id))).flat();
  const shares = (await mapEach(users, (u) => store.listAcceptedShares(u.id))).flat();
  const invites = (await mapEach(users, async (u) => (await store.listInvites(u.id, now)).outgoing)).flat();
  if (flags.json) {
    io.out(`${JSON.stringify({ shares, invites }, null, 2)}\n`);
    return;
  }
  // Every name the table shows, looked up first.
  const names = new Map<string, string>();
  for (const id of new Set(
    [...shares, ...invites].flatMap((r) => [r.ownerUserId, r.recipientUserId ?? r.ownerUserId]),
  ))
    names.set(id, (await store.getUser(id)).name);
  const devices = new Map<string, string>();
  for (const id of new Set([...shares, ...invites].map((r) => r.deviceId)))
    devices.set(id, (await store.getDevice(id)).name);
  const name = (id: string) => names.get(id)!;
  const device = (id: string) => devices.get(id)!;
  io.out(
    table([
      ['KIND', 'ID', 'DEVICE', 'OWNER', 'RECIPIENT', 'STATE', 'EXPIRES'],
      ...shares.map((s) => [
        'share',
        s.id,
        device(s.deviceId),
        name(s.ownerUserId),
        name(s.recipientUserId),
        'accepted',
        '-',
      ]),
      ...invites.map((i) => [
        'invite',
        i.id,
        device(i.deviceId),
        name(i.ownerUserId),
        i.recipientUserId ? name(i.recipientUserId) : i.multiUse ? '(link, multi-use)' : '(link)',
        i.state,
        iso(i.expiresAt),
      ]),
    ]),
  );
}

/** The network a command is about: --network NET, or the only one there is. */
export async function targetNetwork(store: Store, flag: string | boolean | undefined) {
  if (typeof flag === 'string') return mustNetwork(store, flag);
  const all = await store.listNetworks();
  if (all.length === 1) return all[0]!;
  throw new UsageError(
    all.length === 0 ? 'there are no networks yet' : 'several networks exist; add --network NET',
  );
}

/** Reads a policy file; throws UsageError naming it. */
export function readPolicyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/**
 * Parses a policy (the text of `file`) and runs its tests against the network as it is now;
 * throws naming the file and the problem.
 */
export async function checkPolicy(
  store: Store,
  networkId: string,
  text: string,
  file: string,
): Promise<void> {
  let policy: ReturnType<typeof parsePolicy>;
  try {
    policy = parsePolicy(text, file);
  } catch (error) {
    // HuJSON errors name the file already; policy errors name only the place inside it.
    if (error instanceof PolicyError) throw new PolicyError('', `${file}: ${error.message}`);
    throw error;
  }
  const result = runPolicyTests(policy, await policyContext(store, networkId));
  if (!result.ok)
    throw new PolicyError('', `${file}: policy tests failed:\n  ${result.failures.join('\n  ')}`);
}

export async function policyCommand(store: Store, argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, { network: 'string' });
  const [verb, file, ...extra] = positional;
  const usage = 'usage: burrow-server policy (get | set FILE | test FILE) [--network NET]';
  if (
    extra.length ||
    (verb === 'get' ? file !== undefined : verb !== 'set' && verb !== 'test') ||
    (verb !== 'get' && !file)
  ) {
    throw new UsageError(usage);
  }
  const network = await targetNetwork(store, flags.network);
  if (verb === 'get') {
    const policy = await store.getPolicy(network.id);
    if (policy) io.out(policy.text.endsWith('\n') ? policy.text : `${policy.text}\n`);
    else io.err(`network ${network.name} has no policy: its members can all reach each other\n`);
    return;
  }
  // Read once: what was checked is what is saved.
  const text = readPolicyFile(file!);
  await checkPolicy(store, network.id, text, file!);
  if (verb === 'test') {
    io.err(`${file}: valid, and its tests pass against network ${network.name}\n`);
    return;
  }
  await store.setPolicy(network.id, text, now);
  io.err(`policy of network ${network.name} updated\n`);
}

/**
 * `apikeys create --network NET [--expiry DUR]`: a key for the admin API that sees and changes one
 * network. --network is required even where there is only one network: a key's reach is stated,
 * never inferred, and the same command means the same on every server. Keys always expire (in 90
 * days unless told); `never` is refused: a long-lived script takes a long expiry and a new key in time.
 */
export async function apikeysCreate(store: Store, argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, { network: 'string', expiry: 'string' });
  if (positional.length || typeof flags.network !== 'string')
    throw new UsageError('usage: burrow-server apikeys create --network NET [--expiry DUR]');
  if (flags.expiry === 'never')
    throw new UsageError('--expiry: API keys always expire; give a duration such as 365d');
  const network = await mustNetwork(store, flags.network);
  const expiry = typeof flags.expiry === 'string' ? parseDuration('--expiry', flags.expiry) : undefined;
  const { secret, apiKey } = await store.createApiKey(
    { networkId: network.id, ...(expiry !== undefined ? { expiresAt: now + expiry } : {}) },
    now,
  );
  io.out(`${secret}\n`);
  io.err(`API key ${apiKey.prefix} for network ${network.name}, expires ${iso(apiKey.expiresAt)}\n`);
}

/** `apikeys list`: keys from before keys had networks show as for every network. */
export async function apikeysList(store: Store, argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, { json: 'boolean' });
  if (positional.length) throw new UsageError('usage: burrow-server apikeys list [--json]');
  const keys = await mapEach(await store.listApiKeys(), async (k) => ({
    ...k,
    network: k.networkId === null ? null : (await store.getNetwork(k.networkId)).name,
  }));
  if (flags.json) {
    io.out(`${JSON.stringify(keys, null, 2)}\n`);
    return;
  }
  io.out(
    table([
      ['PREFIX', 'ID', 'NETWORK', 'CREATED', 'EXPIRES', 'LAST USED'],
      ...keys.map((k) => [
        k.prefix,
        k.id,
        k.network ?? '(every network)',
        iso(k.createdAt),
        `${iso(k.expiresAt)}${now >= k.expiresAt ? ' (expired)' : ''}`,
        iso(k.lastUsedAt),
      ]),
    ]),
  );
}

/** `apikeys revoke KEY`: by id or by the prefix shown in lists and logs; the key stops working at once. */
export async function apikeysRevoke(store: Store, argv: string[], io: Io): Promise<void> {
  const { positional } = parseArgs(argv, {});
  if (positional.length !== 1) throw new UsageError('usage: burrow-server apikeys revoke ID|PREFIX');
  const ref = positional[0]!;
  const key = (await store.listApiKeys()).find((k) => k.id === ref || k.prefix === ref);
  if (!key) throw new UsageError(`no API key "${ref}"`);
  await store.revokeApiKey(key.id);
  io.err(`API key ${key.prefix} revoked\n`);
}
