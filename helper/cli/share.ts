/** `burrow share ...`: devices shared between networks, by invite code. */
import { operations, type ShareList } from '../../src/localapi/api.js';
import { checkRequest } from './args.js';
import { type Command, printJson, table } from './command.js';

const date = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
type Invite = ShareList['incoming'][number];
const inviteState = (i: Invite) => (i.multiUse ? `${i.state}, multi-use` : i.state);

function section(title: string, rows: string[][]): string {
  return rows.length > 1 ? `${title}:\n${table(rows)}` : `${title}: none\n`;
}

function formatShares(shares: ShareList): string {
  return [
    section('Invites to you', [
      ['ID', 'DEVICE', 'FROM', 'STATE', 'EXPIRES'],
      ...shares.incoming.map((i) => [i.id, i.device, i.owner, inviteState(i), date(i.expiresAt)]),
    ]),
    section('Invites from you', [
      ['ID', 'DEVICE', 'TO', 'STATE', 'EXPIRES'],
      ...shares.outgoing.map((i) => [
        i.id,
        i.device,
        i.recipient ?? 'anyone with the code',
        inviteState(i),
        date(i.expiresAt),
      ]),
    ]),
    section('Shared', [
      ['ID', 'DEVICE', 'OWNER', 'WITH'],
      ...shares.accepted.map((s) => [s.id, s.device, s.owner, s.recipient]),
    ]),
  ].join('\n');
}

export const shareCreateCommand: Command = {
  usage: 'share create DEVICE [--to USER] [--multi-use] [--json]',
  flags: { '--to': 'string', '--multi-use': 'bool' },
  operands: ['DEVICE'],
  async run(ctx, args) {
    const [device] = args.positional as [string];
    const to = args.string('--to');
    const multiUse = args.bool('--multi-use');
    const request = checkRequest(
      operations.createShare.request,
      { device, ...(to !== undefined ? { to } : {}), ...(multiUse !== undefined ? { multiUse } : {}) },
      { device: 'DEVICE', to: '--to' },
    );
    const answer = await ctx.client().call('createShare', request);
    if (ctx.json) {
      printJson(ctx, answer);
      return 0;
    }
    // Only the code on stdout, so that `code=$(burrow share create laptop)` works.
    ctx.io.out(`${answer.code}\n`);
    const { invite } = answer;
    ctx.io.err(
      `Invite to ${invite.device} for ${invite.recipient ?? 'anyone with the code'}, ` +
        `valid until ${date(invite.expiresAt)}. They run: burrow share accept CODE\n`,
    );
    return 0;
  },
};

export const shareListCommand: Command = {
  usage: 'share list [--json]',
  flags: {},
  operands: [],
  async run(ctx) {
    const shares = await ctx.client().call('listShares', {});
    if (ctx.json) printJson(ctx, shares);
    else ctx.io.out(formatShares(shares));
    return 0;
  },
};

export const shareAcceptCommand: Command = {
  usage: 'share accept CODE|ID [--json]',
  flags: {},
  operands: ['CODE|ID'],
  async run(ctx, args) {
    const [ref] = args.positional as [string];
    const request = checkRequest(operations.acceptShare.request, { ref }, { ref: 'CODE|ID' });
    const share = await ctx.client().call('acceptShare', request);
    if (ctx.json) printJson(ctx, share);
    else ctx.io.out(`${share.device} (shared by ${share.owner}) is now in your network\n`);
    return 0;
  },
};

export const shareDeclineCommand: Command = {
  usage: 'share decline ID [--json]',
  flags: {},
  operands: ['ID'],
  async run(ctx, args) {
    const [id] = args.positional as [string];
    const invite = await ctx
      .client()
      .call('declineShare', checkRequest(operations.declineShare.request, { id }, { id: 'ID' }));
    if (ctx.json) printJson(ctx, invite);
    else ctx.io.err(`Declined ${invite.owner}'s invite to ${invite.device}.\n`);
    return 0;
  },
};

export const shareRevokeCommand: Command = {
  usage: 'share revoke ID [--json]',
  flags: {},
  operands: ['ID'],
  async run(ctx, args) {
    const [id] = args.positional as [string];
    const answer = await ctx
      .client()
      .call('revokeShare', checkRequest(operations.revokeShare.request, { id }, { id: 'ID' }));
    if (ctx.json) printJson(ctx, answer);
    else ctx.io.err(`Revoked ${answer.revoked}.\n`);
    return 0;
  },
};
