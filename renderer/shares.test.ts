import { describe, expect, it } from 'vitest';
import { sharingLists } from './shares.js';
import { SHARES } from './test-support/fixtures.js';

const ids = (items: { id: string }[]) => items.map((i) => i.id);

describe('sharingLists', () => {
  it('splits the share list by what the user can do with each item', () => {
    const lists = sharingLists(SHARES, 'alice');
    expect(ids(lists.invites)).toEqual(['inv-in']);
    expect(ids(lists.sharedWithMe)).toEqual(['sh-nas']);
    expect(ids(lists.myShares)).toEqual(['sh-desk']);
    expect(ids(lists.openInvites)).toEqual(['inv-link']);
  });

  it('is all empty without a share list', () => {
    expect(sharingLists(null, 'alice')).toEqual({
      invites: [],
      sharedWithMe: [],
      myShares: [],
      openInvites: [],
    });
  });
});
