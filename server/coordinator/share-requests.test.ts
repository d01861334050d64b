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
  const setup = async () => {
    const user = async (name: string) => await t.store.createUser({ name }, T0);
    const [ana, bo, cy] = [await user('ana'), await user('bo'), await user('cy')];
    const device = async (userId: string, name: string) =>
      (await t.store.registerDevice({ ...identity(name), userId }, T0)).id;
    const ids = {
      ana: ana.id,
      bo: bo.id,
      cy: cy.id,
      printer: await device(ana.id, 'printer'),
      laptop: await device(ana.id, 'laptop'),
      boPhone: await device(bo.id, 'phone'),
      cyPhone: await device(cy.id, 'phone'),
    };
    let id = 0;
    const as = (deviceId: string) => (request: ShareRequestBody) =>
      handleShareRequest(t.store, deviceId, { ...request, id: id++ } as ShareRequest, T0);
    return { ids, laptop: as(ids.laptop), boPhone: as(ids.boPhone), cyPhone: as(ids.cyPhone) };
  };

  it("acts as the device's owner, names users and devices, and tells whom it concerned", async () => {
    const { ids, laptop, boPhone } = await setup();
    const created = await laptop({ type: 'share-create', deviceId: ids.printer, recipient: 'bo' });
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

    const incoming = await boPhone({ type: 'share-list' });
    expect(incoming).toEqual({
      result: { op: 'share-list', incoming: [invite], outgoing: [], accepted: [] },
      changedFor: [],
    });
    expect(JSON.stringify(incoming)).not.toContain(code);

    const accepted = await boPhone({ type: 'share-accept', inviteId: invite.id });
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
      expect((await ask({ type: 'share-list' })).result).toMatchObject({ accepted: [share] });
    }
    expect((await laptop({ type: 'share-list' })).result).toMatchObject({
      incoming: [],
      outgoing: [{ id: invite.id, state: 'accepted' }],
    });
  });

  it('tells every recipient of a link when its owner revokes it', async () => {
    const { ids, laptop, boPhone, cyPhone } = await setup();
    const created = await laptop({ type: 'share-create', deviceId: ids.printer, multiUse: true });
    expect(created.changedFor).toEqual([ids.ana]);
    const { invite, code } = resultOf(created, 'share-create');
    expect(invite.recipient).toBeNull();
    await boPhone({ type: 'share-accept', code });
    await cyPhone({ type: 'share-accept', code });
    const revoked = await laptop({ type: 'share-revoke', inviteId: invite.id });
    expect(new Set(revoked.changedFor)).toEqual(new Set([ids.ana, ids.bo, ids.cy]));
    expect((await boPhone({ type: 'share-list' })).result).toMatchObject({ accepted: [] });
  });

  it("refuses with the store's reasons, and others' devices, invites and shares as missing ones", async () => {
    const { ids, laptop, boPhone, cyPhone } = await setup();
    const notBos = `no device ${ids.printer} that you can share`;
    await expect(boPhone({ type: 'share-create', deviceId: ids.printer })).rejects.toThrow(notBos);
    // Whether the recipient exists is not told to someone who may not share the device.
    for (const recipient of ['cy', 'nobody']) {
      await expect(boPhone({ type: 'share-create', deviceId: ids.printer, recipient })).rejects.toThrow(
        notBos,
      );
    }
    await expect(
      laptop({ type: 'share-create', deviceId: ids.printer, recipient: 'nobody' }),
    ).rejects.toThrow('no user "nobody"');
    const created = await laptop({ type: 'share-create', deviceId: ids.printer, recipient: 'bo' });
    const { invite } = resultOf(created, 'share-create');
    const notCys = `no invite ${invite.id} for you (a link is accepted with its code)`;
    await expect(cyPhone({ type: 'share-accept', inviteId: invite.id })).rejects.toThrow(notCys);
    await expect(cyPhone({ type: 'share-decline', inviteId: invite.id })).rejects.toThrow(notCys);
    const shareId = resultOf(await boPhone({ type: 'share-accept', inviteId: invite.id }), 'share-accept')
      .share.id;
    await expect(cyPhone({ type: 'share-revoke', shareId })).rejects.toThrow(`no share ${shareId} of yours`);
    await expect(boPhone({ type: 'share-accept', inviteId: invite.id })).rejects.toThrow(/already accepted/);

    // A device past its key expiry no longer acts for its user.
    await t.store.reauthenticateDevice(ids.boPhone, T0 - 2, T0 - 1);
    await expect(boPhone({ type: 'share-revoke', shareId })).rejects.toThrow(/key has expired/);
    expect((await laptop({ type: 'share-list' })).result).toMatchObject({ accepted: [{ id: shareId }] });
  });
});
