import { describe, expect, it } from 'vitest';
import { StoreError } from '../errors.js';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { DAY, identity, T0 } from '../testing.js';
import { DEFAULTS } from '../types.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

/** How `act` is refused, with the id or code it was given written as ID: what the caller learns. */
async function refusal(act: () => Promise<unknown>, id: string): Promise<{ code: string; message: string }> {
  try {
    await act();
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return { code: error.code, message: error.message.replaceAll(id, 'ID') };
  }
  throw new Error('not refused');
}

describe.each(BACK_ENDS)('sharing ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);
  /** Ana owns a printer; Bo and Cy have networks of their own. */
  const setup = async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const bo = await t.store.createUser({ name: 'bo' }, T0);
    const cy = await t.store.createUser({ name: 'cy' }, T0);
    const printer = await t.store.registerDevice({ ...identity('printer'), userId: ana.id }, T0);
    return { ana, bo, cy, printer };
  };

  it('a named invite: listed both ways, accepted by id, visible as a share', async () => {
    const { ana, bo, printer } = await setup();
    const { invite, code: secret } = await t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, recipientUserId: bo.id },
      T0,
    );
    expect(secret).toMatch(new RegExp(`^binv-${invite.prefix}-[A-Za-z0-9_-]{43}$`));
    expect(invite).toEqual({
      id: invite.id,
      deviceId: printer.id,
      ownerUserId: ana.id,
      recipientUserId: bo.id,
      prefix: invite.prefix,
      multiUse: false,
      state: 'pending',
      createdAt: T0,
      expiresAt: T0 + DEFAULTS.inviteLifetimeMs,
      updatedAt: T0,
    });
    expect(await t.store.listInvites(bo.id, T0)).toEqual({ incoming: [invite], outgoing: [] });
    expect(await t.store.listInvites(ana.id, T0)).toEqual({ incoming: [], outgoing: [invite] });

    const seq = await t.store.currentSeq();
    const share = await t.store.acceptInvite({ id: invite.id }, bo.id, T0 + 1);
    expect(share).toEqual({
      id: share.id,
      inviteId: invite.id,
      deviceId: printer.id,
      ownerUserId: ana.id,
      recipientUserId: bo.id,
      createdAt: T0 + 1,
    });
    expect((await t.store.listInvites(bo.id, T0 + 1)).incoming[0]?.state).toBe('accepted');
    expect(await t.store.listAcceptedShares(bo.id)).toEqual([share]);
    expect(await t.store.sharesOfDevice(printer.id)).toEqual([share]);
    // Both maps change: Bo's devices gain a peer, the printer gains peers it must accept.
    for (const networkId of [ana.networkId, bo.networkId]) {
      expect(await t.store.changesSince(networkId, seq)).toEqual([
        expect.objectContaining({ kind: 'share-changed', deviceId: printer.id }),
      ]);
    }
    await expect(t.store.acceptInvite({ id: invite.id }, bo.id, T0 + 2)).rejects.toThrow(
      code('invite-not-pending'),
    );
  });

  it('a named invite is for its recipient only, by id or by code', async () => {
    const { ana, bo, cy, printer } = await setup();
    const { invite, code: secret } = await t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, recipientUserId: bo.id },
      T0,
    );
    await expect(t.store.acceptInvite({ id: invite.id }, cy.id, T0)).rejects.toThrow(code('invite-unknown'));
    await expect(t.store.acceptInvite({ code: secret }, cy.id, T0)).rejects.toThrow(code('invite-unknown'));
    await expect(t.store.declineInvite(invite.id, cy.id, T0)).rejects.toThrow(code('invite-unknown'));
    expect((await t.store.acceptInvite({ code: secret }, bo.id, T0)).recipientUserId).toBe(bo.id);
  });

  it('a single-use link goes to the first user holding the code; its id alone is not enough', async () => {
    const { ana, bo, cy, printer } = await setup();
    const { invite, code: secret } = await t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id },
      T0,
    );
    expect(invite.recipientUserId).toBeNull();
    await expect(t.store.acceptInvite({ id: invite.id }, bo.id, T0)).rejects.toThrow(code('invite-unknown'));
    await expect(t.store.acceptInvite({ code: `${secret}x` }, bo.id, T0)).rejects.toThrow(
      code('invite-unknown'),
    );
    await t.store.acceptInvite({ code: secret }, bo.id, T0);
    await expect(t.store.acceptInvite({ code: secret }, cy.id, T0)).rejects.toThrow(
      code('invite-not-pending'),
    );
  });

  it('a multi-use link stays open; accepting twice returns the same share', async () => {
    const { ana, bo, cy, printer } = await setup();
    const { invite, code: secret } = await t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, multiUse: true },
      T0,
    );
    const toBo = await t.store.acceptInvite({ code: secret }, bo.id, T0 + 1);
    const toCy = await t.store.acceptInvite({ code: secret }, cy.id, T0 + 2);
    expect(await t.store.acceptInvite({ code: secret }, bo.id, T0 + 3)).toEqual(toBo);
    expect(await t.store.sharesOfDevice(printer.id)).toEqual([toBo, toCy]);
    expect((await t.store.listInvites(ana.id, T0 + 3)).outgoing).toEqual([
      expect.objectContaining({ id: invite.id, state: 'pending' }),
    ]);
  });

  it('expired invites read as expired and cannot be accepted or declined', async () => {
    const { ana, bo, printer } = await setup();
    const { invite, code: secret } = await t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, recipientUserId: bo.id, expiresAt: T0 + DAY },
      T0,
    );
    expect((await t.store.listInvites(bo.id, T0 + DAY - 1)).incoming[0]?.state).toBe('pending');
    expect((await t.store.listInvites(bo.id, T0 + DAY)).incoming[0]?.state).toBe('expired');
    await expect(t.store.acceptInvite({ code: secret }, bo.id, T0 + DAY)).rejects.toThrow(
      code('invite-expired'),
    );
    await expect(t.store.declineInvite(invite.id, bo.id, T0 + DAY)).rejects.toThrow(code('invite-expired'));
  });

  it('decline, and revoke from either side', async () => {
    const { ana, bo, cy, printer } = await setup();
    const named = async (to: string) =>
      (await t.store.createInvite({ deviceId: printer.id, byUserId: ana.id, recipientUserId: to }, T0))
        .invite;

    const declined = await named(bo.id);
    expect(await t.store.declineInvite(declined.id, bo.id, T0 + 1)).toMatchObject({
      state: 'declined',
      updatedAt: T0 + 1,
    });
    await expect(t.store.acceptInvite({ id: declined.id }, bo.id, T0)).rejects.toThrow(
      code('invite-not-pending'),
    );

    // The owner revokes an accepted invite: the share ends.
    const byOwner = await named(bo.id);
    await t.store.acceptInvite({ id: byOwner.id }, bo.id, T0);
    expect((await t.store.revokeInvite(byOwner.id, ana.id, T0 + 2)).state).toBe('revoked');
    expect(await t.store.listAcceptedShares(bo.id)).toEqual([]);
    await expect(t.store.revokeInvite(byOwner.id, ana.id, T0 + 3)).rejects.toThrow(
      code('invite-not-pending'),
    );

    // The recipient revokes their accepted invite.
    const byRecipient = await named(cy.id);
    await t.store.acceptInvite({ id: byRecipient.id }, cy.id, T0);
    expect((await t.store.revokeInvite(byRecipient.id, cy.id, T0 + 4)).state).toBe('revoked');
    expect(await t.store.sharesOfDevice(printer.id)).toEqual([]);

    // A recipient "revoking" a pending invite declines it; strangers may do neither.
    const pending = await named(bo.id);
    await expect(t.store.revokeInvite(pending.id, cy.id, T0)).rejects.toThrow(code('invite-unknown'));
    expect((await t.store.revokeInvite(pending.id, bo.id, T0 + 5)).state).toBe('declined');
  });

  it('revoking a multi-use link ends every share made from it; one share can end alone', async () => {
    const { ana, bo, cy, printer } = await setup();
    const { invite, code: secret } = await t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, multiUse: true },
      T0,
    );
    const toBo = await t.store.acceptInvite({ code: secret }, bo.id, T0);
    await t.store.acceptInvite({ code: secret }, cy.id, T0);
    await expect(t.store.revokeShare(toBo.id, cy.id, T0)).rejects.toThrow(code('not-found'));
    await t.store.revokeShare(toBo.id, bo.id, T0 + 1);
    expect((await t.store.sharesOfDevice(printer.id)).map((s) => s.recipientUserId)).toEqual([cy.id]);
    expect((await t.store.listInvites(ana.id, T0)).outgoing[0]?.state).toBe('pending');

    await t.store.revokeInvite(invite.id, ana.id, T0 + 2);
    expect(await t.store.sharesOfDevice(printer.id)).toEqual([]);
    expect((await t.store.changesSince(cy.networkId, 0))?.map((c) => c.kind)).toEqual([
      'share-changed',
      'share-changed',
    ]);
    await expect(t.store.acceptInvite({ code: secret }, bo.id, T0 + 3)).rejects.toThrow(
      code('invite-not-pending'),
    );
  });

  it('only the owner shares, and not with someone who already sees the device', async () => {
    const { ana, bo, printer } = await setup();
    const mate = await t.store.createUser({ name: 'mate', networkId: ana.networkId }, T0);
    await expect(t.store.createInvite({ deviceId: printer.id, byUserId: bo.id }, T0)).rejects.toThrow(
      code('not-found'),
    );
    await expect(
      t.store.createInvite({ deviceId: printer.id, byUserId: ana.id, recipientUserId: mate.id }, T0),
    ).rejects.toThrow(code('invalid'));
    await expect(
      t.store.createInvite(
        { deviceId: printer.id, byUserId: ana.id, recipientUserId: bo.id, multiUse: true },
        T0,
      ),
    ).rejects.toThrow(code('invalid'));
    const link = await t.store.createInvite({ deviceId: printer.id, byUserId: ana.id }, T0);
    await expect(t.store.acceptInvite({ code: link.code }, ana.id, T0)).rejects.toThrow(code('invalid'));
    await expect(t.store.createInvite({ deviceId: 'nope', byUserId: ana.id }, T0)).rejects.toThrow(
      code('not-found'),
    );
  });

  it("refuses someone else's device, invite or share exactly as one that never existed", async () => {
    const { ana, bo, cy, printer } = await setup();
    const named = async () =>
      await t.store.createInvite({ deviceId: printer.id, byUserId: ana.id, recipientUserId: bo.id }, T0);
    const accepted = await named();
    const share = await t.store.acceptInvite({ id: accepted.invite.id }, bo.id, T0);
    const pending = await named();
    const link = await t.store.createInvite({ deviceId: printer.id, byUserId: ana.id }, T0);
    const seq = await t.store.currentSeq();
    // Cy, in a network of her own, tries each with a real id and with one that never existed.
    const attempts: [string, (id: string) => Promise<unknown>, string][] = [
      [
        'share a device',
        async (id) => await t.store.createInvite({ deviceId: id, byUserId: cy.id }, T0),
        printer.id,
      ],
      [
        'accept a named invite',
        async (id) => await t.store.acceptInvite({ id }, cy.id, T0),
        pending.invite.id,
      ],
      ['accept a link by id', async (id) => await t.store.acceptInvite({ id }, cy.id, T0), link.invite.id],
      ['accept by code', async (c) => await t.store.acceptInvite({ code: c }, cy.id, T0), pending.code],
      ['decline', async (id) => await t.store.declineInvite(id, cy.id, T0), pending.invite.id],
      ['revoke an invite', async (id) => await t.store.revokeInvite(id, cy.id, T0), accepted.invite.id],
      ['revoke a share', async (id) => await t.store.revokeShare(id, cy.id, T0), share.id],
    ];
    const madeUp = (real: string) =>
      real.startsWith('binv-') ? `binv-000000000000-${'A'.repeat(43)}` : 'A'.repeat(real.length);
    for (const [what, act, real] of attempts) {
      const fake = madeUp(real);
      expect(await refusal(() => act(real), real), what).toEqual(await refusal(() => act(fake), fake));
    }
    expect(await t.store.currentSeq()).toBe(seq); // and nothing changed
    expect((await t.store.listInvites(bo.id, T0)).incoming.map((i) => i.state).sort()).toEqual([
      'accepted',
      'pending',
    ]);
    expect(await t.store.listAcceptedShares(bo.id)).toEqual([share]);
  });

  it('a shared device changing or going away reaches the recipient network too', async () => {
    const { ana, bo, printer } = await setup();
    const { code: secret } = await t.store.createInvite({ deviceId: printer.id, byUserId: ana.id }, T0);
    await t.store.acceptInvite({ code: secret }, bo.id, T0);
    const seq = await t.store.currentSeq();
    await t.store.renameDevice(printer.id, 'laser', T0 + 1);
    await t.store.deleteDevice(printer.id, T0 + 2);
    for (const networkId of [ana.networkId, bo.networkId]) {
      expect((await t.store.changesSince(networkId, seq))?.map((c) => [c.kind, c.deviceId])).toEqual([
        ['device-changed', printer.id],
        ['device-removed', printer.id],
      ]);
    }
    expect(await t.store.listAcceptedShares(bo.id)).toEqual([]);
    expect((await t.store.listInvites(ana.id, T0)).outgoing).toEqual([]);
  });
});
