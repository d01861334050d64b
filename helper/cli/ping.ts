/** `burrow ping`: a ping through the tunnel, answered by the peer's burrowd, not its kernel. */
import { operations, type ResponseOf } from '../../src/localapi/api.js';
import { LocalApiCallError } from '../../src/localapi/client.js';
import { checkRequest, parseCount } from './args.js';
import { CliError, type Command, printJson } from './command.js';

/**
 * Whether another try could get a pong. Unreachable (0) and refusals of the request itself (4xx:
 * no such peer, not allowed) would fail again; a timeout (408) or burrowd's own trouble (5xx) may not.
 */
const worthRetrying = (error: unknown) =>
  error instanceof LocalApiCallError && (error.status === 408 || error.status >= 500);

/** `1.2.3.4:41641` for a direct reply, `relay "name"` for a relayed one, like `tailscale ping`. */
const via = (pong: ResponseOf<'ping'>) =>
  pong.path === 'direct' ? (pong.endpoint ?? 'direct') : pong.relay ? `relay "${pong.relay}"` : 'relay';

export const pingCommand: Command = {
  usage: 'ping PEER [-c N] [--json]',
  flags: { '-c': 'string' },
  operands: ['PEER'],
  async run(ctx, args) {
    const [peer] = args.positional as [string];
    const countText = args.string('-c');
    const count = countText === undefined ? 1 : parseCount('-c', countText, 1000);
    const request = checkRequest(operations.ping.request, { peer }, { peer: 'PEER' });
    const pongs: ResponseOf<'ping'>[] = [];
    for (let i = 0; i < count; i++) {
      try {
        const pong = await ctx.client().call('ping', request);
        pongs.push(pong);
        if (!ctx.json) ctx.io.out(`pong from ${pong.peer} (${pong.ip}) via ${via(pong)} in ${pong.ms} ms\n`);
      } catch (error) {
        if (!worthRetrying(error)) throw error;
        ctx.io.err(`ping ${peer}: ${(error as Error).message}\n`);
      }
    }
    if (ctx.json) printJson(ctx, pongs);
    if (pongs.length === 0) throw new CliError(`no pong from ${peer}`);
    return 0;
  },
};
