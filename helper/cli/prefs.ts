/** `burrow set` and `burrow exit-node list`: the preferences a user changes while connected. */
import { operations, type PrefsPatch } from '../../src/localapi/api.js';
import { type Args, checkRequest, parseList, UsageError } from './args.js';
import { type Command, printJson, table } from './command.js';
import { firstIp } from './status.js';

/** Each `set` flag and the prefs field it changes. */
const FIELDS = {
  '--shields-up': 'shieldsUp',
  '--exit-node': 'exitNode',
  '--exit-node-allow-lan-access': 'exitNodeAllowLanAccess',
  '--accept-routes': 'acceptRoutes',
  '--accept-dns': 'acceptDns',
  '--advertise-exit-node': 'advertiseExitNode',
  '--advertise-routes': 'advertiseRoutes',
  '--hostname': 'hostname',
} as const satisfies Record<string, keyof PrefsPatch>;

/** Only the fields given: burrowd keeps every other preference as it is. */
function patchOf(args: Args): PrefsPatch {
  const patch: PrefsPatch = {};
  const bools = [
    '--shields-up',
    '--exit-node-allow-lan-access',
    '--accept-routes',
    '--accept-dns',
    '--advertise-exit-node',
  ] as const;
  for (const flag of bools) {
    const value = args.bool(flag);
    if (value !== undefined) patch[FIELDS[flag]] = value;
  }
  // An empty value clears: no exit node, the OS host name again, no routes.
  const exitNode = args.string('--exit-node');
  if (exitNode !== undefined) patch.exitNode = exitNode === '' ? null : exitNode;
  const hostname = args.string('--hostname');
  if (hostname !== undefined) patch.hostname = hostname === '' ? null : hostname;
  const routes = args.string('--advertise-routes');
  if (routes !== undefined) patch.advertiseRoutes = parseList(routes);
  if (Object.keys(patch).length === 0) throw new UsageError('set: nothing to change');
  const flagOf = Object.fromEntries(Object.entries(FIELDS).map(([flag, field]) => [field, flag]));
  return checkRequest(operations.setPrefs.request, patch, flagOf);
}

export const setCommand: Command = {
  usage:
    'set [--shields-up[=BOOL]] [--exit-node=PEER|""] [--exit-node-allow-lan-access[=BOOL]]\n' +
    '[--accept-routes[=BOOL]] [--accept-dns[=BOOL]] [--advertise-exit-node[=BOOL]]\n' +
    '[--advertise-routes=CIDR,...] [--hostname=NAME] [--json]',
  flags: {
    '--shields-up': 'bool',
    '--exit-node': 'string',
    '--exit-node-allow-lan-access': 'bool',
    '--accept-routes': 'bool',
    '--accept-dns': 'bool',
    '--advertise-exit-node': 'bool',
    '--advertise-routes': 'string',
    '--hostname': 'string',
  },
  operands: [],
  async run(ctx, args) {
    const prefs = await ctx.client().call('setPrefs', patchOf(args));
    if (ctx.json) printJson(ctx, prefs);
    return 0;
  },
};

export const exitNodeListCommand: Command = {
  usage: 'exit-node list [--json]',
  flags: {},
  operands: [],
  async run(ctx) {
    const options = await ctx.client().call('listExitNodes', {});
    if (ctx.json) {
      printJson(ctx, options);
      return 0;
    }
    if (options.length === 0) {
      ctx.io.err('No peer offers to be an exit node.\n');
      return 0;
    }
    const sorted = [...options].sort((a, b) => a.hostName.localeCompare(b.hostName));
    ctx.io.out(
      table([
        ['IP', 'HOSTNAME', 'STATUS'],
        ...sorted.map((o) => [
          firstIp(o.ips),
          o.hostName,
          o.selected ? 'selected' : o.online ? '-' : 'offline',
        ]),
      ]),
    );
    return 0;
  },
};
