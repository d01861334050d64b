/** `burrow up`, `down` and `logout`: the tunnel's life. */
import { readFileSync } from 'node:fs';
import { type BackendState, operations, type RequestOf } from '../../src/localapi/api.js';
import { type Args, checkRequest, parseDuration, parseList } from './args.js';
import { CliError, type Command, type Context, printJson } from './command.js';

/** `--auth-key file:PATH` keeps the key out of `ps` and the shell history. */
function authKey(text: string): string {
  if (!text.startsWith('file:')) return text;
  const path = text.slice('file:'.length);
  let key: string;
  try {
    key = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new CliError(`--auth-key: cannot read ${path}: ${(error as Error).message}`);
  }
  if (key === '') throw new CliError(`--auth-key: ${path} is empty`);
  return key;
}

function upRequest(args: Args): RequestOf<'up'> {
  const body: RequestOf<'up'> = {};
  const loginServer = args.string('--login-server');
  if (loginServer !== undefined) body.controlUrl = loginServer;
  const key = args.string('--auth-key');
  if (key !== undefined) body.authKey = authKey(key);
  const hostname = args.string('--hostname');
  if (hostname !== undefined) body.hostname = hostname;
  const routes = args.string('--advertise-routes');
  if (routes !== undefined) body.advertiseRoutes = parseList(routes);
  const exitNode = args.bool('--advertise-exit-node');
  if (exitNode !== undefined) body.advertiseExitNode = exitNode;
  const acceptRoutes = args.bool('--accept-routes');
  if (acceptRoutes !== undefined) body.acceptRoutes = acceptRoutes;
  const acceptDns = args.bool('--accept-dns');
  if (acceptDns !== undefined) body.acceptDns = acceptDns;
  return checkRequest(operations.up.request, body, {
    controlUrl: '--login-server',
    authKey: '--auth-key',
    hostname: '--hostname',
    advertiseRoutes: '--advertise-routes',
  });
}

interface UpState {
  backendState: BackendState;
  authUrl: string | null;
}

/**
 * Shows a state: in text, each login URL once; with --json, a line per state that says something
 * new (the first, a new login URL, running), so a script can read the URL and then the outcome.
 */
function report(ctx: Context, state: UpState, shown: Set<string>, first = false): void {
  const fresh = state.authUrl !== null && !shown.has(state.authUrl);
  if (state.authUrl !== null) shown.add(state.authUrl);
  if (ctx.json) {
    if (first || fresh || state.backendState === 'running')
      ctx.io.out(`${JSON.stringify({ backendState: state.backendState, authUrl: state.authUrl })}\n`);
  } else if (fresh) {
    ctx.io.err(`To authenticate, visit:\n\n\t${state.authUrl}\n`);
  }
}

/**
 * Follows burrowd's events until the state is running (the first event is the current state, so
 * nothing between `up`'s answer and the subscription is lost).
 */
function waitForRunning(
  ctx: Context,
  shown: Set<string>,
  timeout: { text: string; ms: number } | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let last: BackendState | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      stop();
      if (error) reject(error);
      else resolve();
    };
    const stop = ctx.client().events(
      (event) => {
        if (event.type !== 'state') return;
        last = event.backendState;
        report(ctx, event, shown);
        if (event.backendState === 'running') finish();
      },
      (error) => finish(error ?? new CliError('burrowd ended the event stream before the tunnel was up')),
    );
    if (timeout !== undefined) {
      timer = setTimeout(
        () => finish(new CliError(`not up after ${timeout.text} (burrowd is ${last ?? 'silent'})`)),
        timeout.ms,
      );
    }
  });
}

export const upCommand: Command = {
  usage:
    'up [--login-server URL[,URL...]] [--auth-key KEY|file:PATH] [--hostname NAME] [--advertise-exit-node]\n' +
    '[--advertise-routes CIDR,...] [--accept-routes] [--accept-dns[=BOOL]] [--timeout DUR] [--json]',
  flags: {
    '--login-server': 'string',
    '--auth-key': 'string',
    '--hostname': 'string',
    '--advertise-exit-node': 'bool',
    '--advertise-routes': 'string',
    '--accept-routes': 'bool',
    '--accept-dns': 'bool',
    '--timeout': 'string',
  },
  operands: [],
  async run(ctx, args) {
    // Read before anything changes: a bad duration is a usage error, not a half-done `up`.
    const text = args.string('--timeout');
    const timeout = text === undefined ? undefined : { text, ms: parseDuration('--timeout', text) };
    const answer = await ctx.client().call('up', upRequest(args));
    const shown = new Set<string>();
    report(ctx, answer, shown, true);
    if (answer.backendState === 'running') return 0;
    await waitForRunning(ctx, shown, timeout);
    if (!ctx.json && shown.size > 0) ctx.io.err('Success.\n');
    return 0;
  },
};

export const downCommand: Command = {
  usage: 'down [--json]',
  flags: {},
  operands: [],
  async run(ctx) {
    const answer = await ctx.client().call('down', {});
    if (ctx.json) printJson(ctx, answer);
    return 0;
  },
};

export const logoutCommand: Command = {
  usage: 'logout [--json]',
  flags: {},
  operands: [],
  async run(ctx) {
    const answer = await ctx.client().call('logout', {});
    if (ctx.json) printJson(ctx, answer);
    return 0;
  },
};
