import {
  type InviteInfo,
  MAX_SHARE_LIST,
  type ShareInfo,
  type ShareRequest,
  type ShareResult,
} from '../../src/control/messages.js';
import { notYours, StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { Invite, Share } from '../store/types.js';

/** What a share request did: its result, and whose invites or shares it changed. */
export interface ShareOutcome {
  result: ShareResult;
  /** Users whose devices are told `shares-changed`; none for a read. */
  changedFor: string[];
}

/**
 * Sharing over a device's control channel. The device acts as the user who owns it and as no one
 * else: the user comes from the device the channel registered as, never from the request. Who may
 * do what (only an owner shares, only the named recipient accepts by id, ...) is the store's to
 * enforce, and its StoreErrors are what the device is told. Someone else's device, invite or share
 * is refused in the same words as one that never existed, so no answer tells whether an id exists
 * in another network.
 */
export function handleShareRequest(
  store: Store,
  deviceId: string,
  request: ShareRequest,
  now: number,
): Promise<ShareOutcome> {
  return store.transaction(async (): Promise<ShareOutcome> => {
    const userId = await actingUser(store, deviceId, now);
    const names = new Names(store);
    switch (request.type) {
      case 'share-create': {
        // The device before the recipient: whoever may not share it learns nothing, not even
        // whether the user name exists. The store checks again; this check only comes first.
        if (!(await store.listUserDevices(userId)).some((d) => d.id === request.deviceId)) {
          throw notYours.device(request.deviceId);
        }
        const recipient = request.recipient === undefined ? null : await userNamed(store, request.recipient);
        const { invite, code } = await store.createInvite(
          {
            deviceId: request.deviceId,
            byUserId: userId,
            recipientUserId: recipient?.id,
            multiUse: request.multiUse,
          },
          now,
        );
        return {
          result: { op: 'share-create', invite: await names.invite(invite), code },
          changedFor: [userId, ...(recipient ? [recipient.id] : [])],
        };
      }
      case 'share-list': {
        const { incoming, outgoing } = await store.listInvites(userId, now);
        const accepted = await sharesOf(store, userId);
        return {
          result: {
            op: 'share-list',
            // Newest first: what falls off a long history is its oldest part.
            incoming: await names.invites(incoming.slice(0, MAX_SHARE_LIST)),
            outgoing: await names.invites(outgoing.slice(0, MAX_SHARE_LIST)),
            accepted: await names.shares(accepted.slice(0, MAX_SHARE_LIST)),
          },
          changedFor: [],
        };
      }
      case 'share-accept': {
        const ref = request.code !== undefined ? { code: request.code } : { id: request.inviteId };
        const share = await store.acceptInvite(ref, userId, now);
        return {
          result: { op: 'share-accept', share: await names.share(share) },
          changedFor: [share.ownerUserId, share.recipientUserId],
        };
      }
      case 'share-decline': {
        const invite = await store.declineInvite(request.inviteId, userId, now);
        return {
          result: { op: 'share-decline', invite: await names.invite(invite) },
          changedFor: [invite.ownerUserId, userId],
        };
      }
      case 'share-revoke':
        return { result: { op: 'share-revoke' }, changedFor: await revoke(store, userId, request, now) };
    }
  });
}

/** Revokes an invite or a share; returns the users it concerned. */
async function revoke(
  store: Store,
  userId: string,
  request: Extract<ShareRequest, { type: 'share-revoke' }>,
  now: number,
): Promise<string[]> {
  if (request.inviteId !== undefined) {
    // Read before the shares end: when the owner revokes, every recipient of the invite loses it.
    const ending = (await sharesOf(store, userId)).filter((s) => s.inviteId === request.inviteId);
    const invite = await store.revokeInvite(request.inviteId, userId, now);
    const named = invite.recipientUserId === null ? [] : [invite.recipientUserId];
    return [invite.ownerUserId, userId, ...named, ...ending.map((s) => s.recipientUserId)];
  }
  // Someone else's share is not the user's to know of: it reads as missing, as a made-up id does.
  const share = (await sharesOf(store, userId)).find((s) => s.id === request.shareId);
  if (!share) throw notYours.share(request.shareId);
  await store.revokeShare(share.id, userId, now);
  return [share.ownerUserId, share.recipientUserId];
}

/** The user the device acts as. A device whose key has expired is out of every map and acts for no one. */
async function actingUser(store: Store, deviceId: string, now: number): Promise<string> {
  const device = await store.getDevice(deviceId);
  if (device.keyExpiry !== null && device.keyExpiry <= now) {
    throw new StoreError('forbidden', "this device's key has expired: sign in again");
  }
  return device.userId;
}

async function userNamed(store: Store, name: string) {
  const user = await store.findUserByName(name);
  if (!user) throw new StoreError('not-found', `no user "${name}"`);
  return user;
}

/** Shares in effect both ways: devices shared with the user, then the user's devices shared with others. */
async function sharesOf(store: Store, userId: string): Promise<Share[]> {
  const outgoing: Share[] = [];
  for (const d of await store.listUserDevices(userId)) outgoing.push(...(await store.sharesOfDevice(d.id)));
  return [...(await store.listAcceptedShares(userId)), ...outgoing];
}

/** Puts names a person knows beside a record's ids, looking each user and device up once. */
class Names {
  private readonly users = new Map<string, string>();
  private readonly devices = new Map<string, string>();

  constructor(private readonly store: Store) {}

  async invites(list: readonly Invite[]): Promise<InviteInfo[]> {
    const out: InviteInfo[] = [];
    for (const i of list) out.push(await this.invite(i));
    return out;
  }

  async shares(list: readonly Share[]): Promise<ShareInfo[]> {
    const out: ShareInfo[] = [];
    for (const s of list) out.push(await this.share(s));
    return out;
  }

  async invite(i: Invite): Promise<InviteInfo> {
    return {
      id: i.id,
      deviceId: i.deviceId,
      device: await this.device(i.deviceId),
      owner: await this.user(i.ownerUserId),
      recipient: i.recipientUserId === null ? null : await this.user(i.recipientUserId),
      prefix: i.prefix,
      multiUse: i.multiUse,
      state: i.state,
      createdAt: i.createdAt,
      expiresAt: i.expiresAt,
    };
  }

  async share(s: Share): Promise<ShareInfo> {
    return {
      id: s.id,
      inviteId: s.inviteId,
      deviceId: s.deviceId,
      device: await this.device(s.deviceId),
      owner: await this.user(s.ownerUserId),
      recipient: await this.user(s.recipientUserId),
      createdAt: s.createdAt,
    };
  }

  private async user(id: string): Promise<string> {
    const name = this.users.get(id) ?? (await this.store.getUser(id)).name;
    this.users.set(id, name);
    return name;
  }

  private async device(id: string): Promise<string> {
    const name = this.devices.get(id) ?? (await this.store.getDevice(id)).name;
    this.devices.set(id, name);
    return name;
  }
}
