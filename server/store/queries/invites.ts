import { notYours, StoreError } from '../errors.js';
import { newSecret, randomId, secretHash } from '../secrets.js';
import { bool, type Sql } from '../sql.js';
import type { InviteRef, NewInvite } from '../store.js';
import { DEFAULTS, type Invite, type InviteState, type Share } from '../types.js';
import * as changes from './changes.js';
import * as devices from './devices.js';
import * as users from './users.js';

interface InviteRow {
  id: string;
  device_id: string;
  owner_user_id: string;
  recipient_user_id: string | null;
  prefix: string;
  multi_use: number;
  state: Exclude<InviteState, 'expired'>;
  created_at: number;
  expires_at: number;
  updated_at: number;
}

interface ShareRow {
  id: string;
  invite_id: string;
  device_id: string;
  owner_user_id: string;
  recipient_user_id: string;
  created_at: number;
}

const SHARES = `SELECT s.id, s.invite_id, s.device_id, i.owner_user_id, s.recipient_user_id, s.created_at
  FROM shares s JOIN invites i ON i.id = s.invite_id`;

const toInvite = (r: InviteRow, now: number): Invite => ({
  id: r.id,
  deviceId: r.device_id,
  ownerUserId: r.owner_user_id,
  recipientUserId: r.recipient_user_id,
  prefix: r.prefix,
  multiUse: r.multi_use === 1,
  state: r.state === 'pending' && now >= r.expires_at ? 'expired' : r.state,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  updatedAt: r.updated_at,
});

const toShare = (r: ShareRow): Share => ({
  id: r.id,
  inviteId: r.invite_id,
  deviceId: r.device_id,
  ownerUserId: r.owner_user_id,
  recipientUserId: r.recipient_user_id,
  createdAt: r.created_at,
});

export async function create(
  sql: Sql,
  input: NewInvite,
  now: number,
): Promise<{ invite: Invite; code: string }> {
  return sql.write(async () => {
    const device = await ownDevice(sql, input.deviceId, input.byUserId);
    if (input.recipientUserId !== undefined) {
      const recipient = await users.get(sql, input.recipientUserId);
      if (recipient.networkId === device.networkId)
        throw new StoreError('invalid', 'the user already sees the device');
      if (input.multiUse) throw new StoreError('invalid', 'an invite to a named user is single-use');
    }
    const { secret, prefix, hash } = newSecret('binv');
    const id = randomId();
    await sql.run(
      `INSERT INTO invites (id, device_id, owner_user_id, recipient_user_id, prefix, code_hash, multi_use, state,
         created_at, expires_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
      id,
      device.id,
      device.userId,
      input.recipientUserId ?? null,
      prefix,
      hash,
      bool(input.multiUse ?? false),
      now,
      input.expiresAt ?? now + DEFAULTS.inviteLifetimeMs,
      now,
    );
    return { invite: toInvite(await row(sql, id), now), code: secret };
  });
}

export async function listForUser(
  sql: Sql,
  userId: string,
  now: number,
): Promise<{ incoming: Invite[]; outgoing: Invite[] }> {
  const newestFirst = 'ORDER BY created_at DESC, id';
  const incoming = await sql.all<InviteRow>(
    `SELECT * FROM invites WHERE recipient_user_id = ? ${newestFirst}`,
    userId,
  );
  const outgoing = await sql.all<InviteRow>(
    `SELECT * FROM invites WHERE owner_user_id = ? ${newestFirst}`,
    userId,
  );
  return { incoming: incoming.map((r) => toInvite(r, now)), outgoing: outgoing.map((r) => toInvite(r, now)) };
}

export async function accept(sql: Sql, ref: InviteRef, recipientUserId: string, now: number): Promise<Share> {
  return sql.write(async () => {
    const recipient = await users.get(sql, recipientUserId);
    const invite = 'code' in ref ? await byCode(sql, ref.code) : await find(sql, ref.id);
    // A named invite is for its recipient only. An id is shown in lists and logs; for a link, only
    // the code is the capability. Either way, someone else's invite reads as no invite at all.
    const forThem =
      invite !== undefined &&
      (invite.recipient_user_id === null ? 'code' in ref : invite.recipient_user_id === recipient.id);
    if (!forThem) throw 'code' in ref ? notYours.code() : notYours.invite(ref.id);
    checkPending(invite, now);
    const device = await devices.get(sql, invite.device_id);
    if (device.networkId === recipient.networkId)
      throw new StoreError('invalid', 'the user already sees the device');
    if (invite.multi_use === 0) await setState(sql, invite.id, 'accepted', now);
    const existing = await sql.get<ShareRow>(
      `${SHARES} WHERE s.recipient_user_id = ? AND s.device_id = ?`,
      recipient.id,
      device.id,
    );
    if (existing) return toShare(existing);
    const id = randomId();
    await sql.run(
      'INSERT INTO shares (id, invite_id, device_id, recipient_user_id, created_at) VALUES (?, ?, ?, ?, ?)',
      id,
      invite.id,
      device.id,
      recipient.id,
      now,
    );
    await changes.record(sql, [device.networkId, recipient.networkId], 'share-changed', device.id, now);
    return toShare(await shareRow(sql, id));
  });
}

export async function decline(sql: Sql, id: string, recipientUserId: string, now: number): Promise<Invite> {
  return sql.write(async () => {
    const invite = await find(sql, id);
    if (invite?.recipient_user_id !== recipientUserId) throw notYours.invite(id);
    checkPending(invite, now);
    await setState(sql, id, 'declined', now);
    return toInvite(await row(sql, id), now);
  });
}

export async function revoke(sql: Sql, id: string, byUserId: string, now: number): Promise<Invite> {
  return sql.write(async () => {
    const invite = await find(sql, id);
    // Read whether or not the invite exists: a missing one costs the same lookups as someone else's.
    const shares = await sql.all<ShareRow>(`${SHARES} WHERE s.invite_id = ?`, id);
    if (invite?.owner_user_id === byUserId) {
      if (invite.state !== 'pending' && invite.state !== 'accepted') {
        throw new StoreError('invite-not-pending', `invite ${invite.prefix} is already ${invite.state}`);
      }
      await setState(sql, id, 'revoked', now);
      for (const share of shares) await endShare(sql, share, now);
    } else {
      const mine = shares.find((s) => s.recipient_user_id === byUserId);
      if (mine) await revokeShare(sql, mine.id, byUserId, now);
      else if (invite !== undefined && invite.recipient_user_id === byUserId)
        await decline(sql, id, byUserId, now);
      else throw notYours.invite(id);
    }
    return toInvite(await row(sql, id), now);
  });
}

/** A single-use invite's only share ending revokes the invite too; a multi-use link stays open. */
export async function revokeShare(sql: Sql, id: string, byUserId: string, now: number): Promise<void> {
  return sql.write(async () => {
    const share = await sql.get<ShareRow>(`${SHARES} WHERE s.id = ?`, id);
    if (share === undefined || (byUserId !== share.owner_user_id && byUserId !== share.recipient_user_id)) {
      throw notYours.share(id);
    }
    await endShare(sql, share, now);
    await sql.run(
      "UPDATE invites SET state = 'revoked', updated_at = ? WHERE id = ? AND multi_use = 0",
      now,
      share.invite_id,
    );
  });
}

export async function acceptedBy(sql: Sql, recipientUserId: string): Promise<Share[]> {
  return (
    await sql.all<ShareRow>(
      `${SHARES} WHERE s.recipient_user_id = ? ORDER BY s.created_at, s.id`,
      recipientUserId,
    )
  ).map(toShare);
}

export async function all(sql: Sql): Promise<Share[]> {
  return (await sql.all<ShareRow>(`${SHARES} ORDER BY s.created_at, s.id`)).map(toShare);
}

export async function ofDevice(sql: Sql, deviceId: string): Promise<Share[]> {
  return (
    await sql.all<ShareRow>(`${SHARES} WHERE s.device_id = ? ORDER BY s.created_at, s.id`, deviceId)
  ).map(toShare);
}

async function endShare(sql: Sql, share: ShareRow, now: number): Promise<void> {
  const device = await devices.get(sql, share.device_id);
  const recipient = await users.get(sql, share.recipient_user_id);
  await sql.run('DELETE FROM shares WHERE id = ?', share.id);
  await changes.record(sql, [device.networkId, recipient.networkId], 'share-changed', device.id, now);
}

function checkPending(invite: InviteRow, now: number): void {
  if (invite.state !== 'pending') {
    throw new StoreError('invite-not-pending', `invite ${invite.prefix} is already ${invite.state}`);
  }
  if (now >= invite.expires_at) throw new StoreError('invite-expired', `invite ${invite.prefix} has expired`);
}

async function setState(sql: Sql, id: string, state: InviteRow['state'], now: number): Promise<void> {
  await sql.run('UPDATE invites SET state = ?, updated_at = ? WHERE id = ?', state, now, id);
}

/** The device if `userId` owns it. One query either way, so someone else's device and none take as long. */
async function ownDevice(sql: Sql, id: string, userId: string) {
  const owned = await sql.get<{ id: string }>(
    'SELECT id FROM devices WHERE id = ? AND user_id = ?',
    id,
    userId,
  );
  if (!owned) throw notYours.device(id);
  return await devices.get(sql, id);
}

async function find(sql: Sql, id: string): Promise<InviteRow | undefined> {
  return await sql.get<InviteRow>('SELECT * FROM invites WHERE id = ?', id);
}

/** A row this transaction wrote or just found, so it exists. */
async function row(sql: Sql, id: string): Promise<InviteRow> {
  const r = await find(sql, id);
  if (!r) throw new Error(`invite ${id} vanished inside its transaction`);
  return r;
}

async function byCode(sql: Sql, code: string): Promise<InviteRow | undefined> {
  const hash = secretHash('binv', code);
  return hash === null
    ? undefined
    : await sql.get<InviteRow>('SELECT * FROM invites WHERE code_hash = ?', hash);
}

async function shareRow(sql: Sql, id: string): Promise<ShareRow> {
  const r = await sql.get<ShareRow>(`${SHARES} WHERE s.id = ?`, id);
  if (!r) throw new Error(`share ${id} vanished inside its transaction`);
  return r;
}
