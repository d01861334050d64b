import { describe, expect, it } from 'vitest';
import type { ShareRequest, ShareRequestBody, ShareResultOf } from '../../src/control/messages.js';
import { identity, T0, withTempStore } from '../store/testing.js';
import { handleShareRequest, type ShareOutcome } from './share-requests.js';

/** The result of `outcome`, which must answer a request of type `op`. */
function resultOf<T extends ShareRequest['type']>(outcome: ShareOutcome, op: T): ShareResultOf<T> {
  expect(outcome.result.op).toBe(op);
  return outcome.result as ShareResultOf<T>;
}

describe('share requests', () => {
  const t = withTempStore();
  /** Ana's laptop asks about her printer; Bo and Cy have a phone each, in networks of their own. */
  const setup = () => {
    const user = (name: string) => t.store.createUser({ name }, T0);
    const [ana, bo, cy] = [user('ana'), user('bo'), user('cy')];
    const device = (userId: string, name: string) =>
      t.store.registerDevice({ ...identity(name), userId }, T0).id;
    const ids = {
      ana: ana.id,
      bo: bo.id,
      cy: cy.id,
      printer: device(ana.id, 'printer'),
      laptop: device(ana.id, 'laptop'),
      boPhone: device(bo.id, 'phone'),
      cyPhone: device(cy.id, 'phone'),
    };
    let id = 0;
    const as = (deviceId: string) => (request: ShareRequestBody) =>
      handleShareRequest(t.store, deviceId, { ...request, id: id++ } as ShareRequest, T0);
    return { ids, laptop: as(ids.laptop), boPhone: as(ids.boPhone), cyPhone: as(ids.cyPhone) };
  };

  it("acts as the device's owner, names users and devices, and tells whom it concerned", () => {
    const { ids, laptop, boPhone } = setup();
    const created = laptop({ type: 'share-create', deviceId: ids.printer, recipient: 'bo' });
    expect(created.changedFor).toEqual([ids.ana, ids.bo]);
    const { invite, code } = resultOf(created, 'share-create');
    expect(code).toMatch(new RegExp(`^binv-${invite.prefix}-`));
    expect(invite).toMatchObject({
      deviceId: ids.printer,
      device: 'printer',
      owner: 'ana',
      recipient: 'bo',
      multiUse: false,
      state: 'pending',
    });

    const incoming = boPhone({ type: 'share-list' });
    expect(incoming).toEqual({
      result: { op: 'share-list', incoming: [invite], outgoing: [], accepted: [] },
      changedFor: [],
    });
    expect(JSON.stringify(incoming)).not.toContain(code);

    const accepted = boPhone({ type: 'share-accept', inviteId: invite.id });
    expect(accepted.changedFor).toEqual([ids.ana, ids.bo]);
    const share = {
      inviteId: invite.id,
      deviceId: ids.printer,
      device: 'printer',
      owner: 'ana',
      recipient: 'bo',
    };
    expect(accepted.result).toMatchObject({ op: 'share-accept', share });
    // Both sides list the share in effect: Bo's as shared with him, Ana's as her device shared out.
    for (const ask of [laptop, boPhone]) {
      expect(ask({ type: 'share-list' }).result).toMatchObject({ accepted: [share] });
    }
    expect(laptop({ type: 'share-list' }).result).toMatchObject({
      incoming: [],
      outgoing: [{ id: invite.id, state: 'accepted' }],
    });
  });

  it('tells every recipient of a link when its owner revokes it', () => {
    const { ids, laptop, boPhone, cyPhone } = setup();
    const created = laptop({ type: 'share-create', deviceId: ids.printer, multiUse: true });
    expect(created.changedFor).toEqual([ids.ana]);
    const { invite, code } = resultOf(created, 'share-create');
    expect(invite.recipient).toBeNull();
    boPhone({ type: 'share-accept', code });
    cyPhone({ type: 'share-accept', code });
    const revoked = laptop({ type: 'share-revoke', inviteId: invite.id });
    expect(new Set(revoked.changedFor)).toEqual(new Set([ids.ana, ids.bo, ids.cy]));
    expect(boPhone({ type: 'share-list' }).result).toMatchObject({ accepted: [] });
  });

  it("refuses with the store's reasons, and others' devices, invites and shares as missing ones", () => {
    const { ids, laptop, boPhone, cyPhone } = setup();
    const notBos = `no device ${ids.printer} that you can share`;
    expect(() => boPhone({ type: 'share-create', deviceId: ids.printer })).toThrow(notBos);
    // Whether the recipient exists is not told to someone who may not share the device.
    for (const recipient of ['cy', 'nobody']) {
      expect(() => boPhone({ type: 'share-create', deviceId: ids.printer, recipient })).toThrow(notBos);
    }
    expect(() => laptop({ type: 'share-create', deviceId: ids.printer, recipient: 'nobody' })).toThrow(
      'no user "nobody"',
    );
    const created = laptop({ type: 'share-create', deviceId: ids.printer, recipient: 'bo' });
    const { invite } = resultOf(created, 'share-create');
    const notCys = `no invite ${invite.id} for you (a link is accepted with its code)`;
    expect(() => cyPhone({ type: 'share-accept', inviteId: invite.id })).toThrow(notCys);
    expect(() => cyPhone({ type: 'share-decline', inviteId: invite.id })).toThrow(notCys);
    const shareId = resultOf(boPhone({ type: 'share-accept', inviteId: invite.id }), 'share-accept').share.id;
    expect(() => cyPhone({ type: 'share-revoke', shareId })).toThrow(`no share ${shareId} of yours`);
    expect(() => boPhone({ type: 'share-accept', inviteId: invite.id })).toThrow(/already accepted/);

    // A device past its key expiry no longer acts for its user.
    t.store.reauthenticateDevice(ids.boPhone, T0 - 2, T0 - 1);
    expect(() => boPhone({ type: 'share-revoke', shareId })).toThrow(/key has expired/);
    expect(laptop({ type: 'share-list' }).result).toMatchObject({ accepted: [{ id: shareId }] });
  });
});
