/**
 * The Sharing screen's lists, from burrowd's share list and the user's name: what awaits an answer,
 * what others shared with the user, and what the user shared (in effect, or still on offer).
 */
import type { ShareList } from '../src/localapi/api.js';

export type Invite = ShareList['incoming'][number];
export type Share = ShareList['accepted'][number];

export interface SharingLists {
  /** Invites to the user still waiting for Accept or Decline. */
  invites: Invite[];
  sharedWithMe: Share[];
  /** Shares of the user's devices that others accepted. */
  myShares: Share[];
  /** The user's invites not yet taken up (a link may be taken up many times and stays here). */
  openInvites: Invite[];
}

export function sharingLists(shares: ShareList | null, me: string | null): SharingLists {
  if (!shares) return { invites: [], sharedWithMe: [], myShares: [], openInvites: [] };
  const pending = (i: Invite) => i.state === 'pending';
  return {
    invites: shares.incoming.filter(pending),
    sharedWithMe: shares.accepted.filter((s) => s.owner !== me),
    myShares: shares.accepted.filter((s) => s.owner === me),
    openInvites: shares.outgoing.filter(pending),
  };
}
