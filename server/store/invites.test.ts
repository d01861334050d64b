import { describe, expect, it } from 'vitest';
import { StoreError } from './errors.js';
import { DAY, identity, T0, withTempStore } from './testing.js';
import { DEFAULTS } from './types.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

/** How `act` is refused, with the id or code it was given written as ID: what the caller learns. */
function refusal(act: () => unknown, id: string): { code: string; message: string } {
  try {
    act();
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return { code: error.code, message: error.message.replaceAll(id, 'ID') };
  }
  throw new Error('not refused');
}

describe('sharing', () => {
  const t = withTempStore();
  /** Ana owns a printer; Bo and Cy have networks of their own. */
  const setup = () => {
    const ana = t.store.createUser({ name: 'ana' }, T0);
    const bo = t.store.createUser({ name: 'bo' }, T0);
    const cy = t.store.createUser({ name: 'cy' }, T0);
    const printer = t.store.registerDevice({ ...identity('printer'), userId: ana.id }, T0);
    return { ana, bo, cy, printer };
  };

  it('a named invite: listed both ways, accepted by id, visible as a share', () => {
    const { ana, bo, printer } = setup();
    const { invite, code: secret } = t.store.createInvite(
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
    expect(t.store.listInvites(bo.id, T0)).toEqual({ incoming: [invite], outgoing: [] });
    expect(t.store.listInvites(ana.id, T0)).toEqual({ incoming: [], outgoing: [invite] });

    const seq = t.store.currentSeq();
    const share = t.store.acceptInvite({ id: invite.id }, bo.id, T0 + 1);
    expect(share).toEqual({
      id: share.id,
      inviteId: invite.id,
      deviceId: printer.id,
      ownerUserId: ana.id,
      recipientUserId: bo.id,
      createdAt: T0 + 1,
    });
    expect(t.store.listInvites(bo.id, T0 + 1).incoming[0]?.state).toBe('accepted');
    expect(t.store.listAcceptedShares(bo.id)).toEqual([share]);
    expect(t.store.sharesOfDevice(printer.id)).toEqual([share]);
    // Both maps change: Bo's devices gain a peer, the printer gains peers it must accept.
    for (const networkId of [ana.networkId, bo.networkId]) {
      expect(t.store.changesSince(networkId, seq)).toEqual([
        expect.objectContaining({ kind: 'share-changed', deviceId: printer.id }),
      ]);
    }
    expect(() => t.store.acceptInvite({ id: invite.id }, bo.id, T0 + 2)).toThrow(code('invite-not-pending'));
  });

  it('a named invite is for its recipient only, by id or by code', () => {
    const { ana, bo, cy, printer } = setup();
    const { invite, code: secret } = t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, recipientUserId: bo.id },
      T0,
    );
    expect(() => t.store.acceptInvite({ id: invite.id }, cy.id, T0)).toThrow(code('invite-unknown'));
    expect(() => t.store.acceptInvite({ code: secret }, cy.id, T0)).toThrow(code('invite-unknown'));
    expect(() => t.store.declineInvite(invite.id, cy.id, T0)).toThrow(code('invite-unknown'));
    expect(t.store.acceptInvite({ code: secret }, bo.id, T0).recipientUserId).toBe(bo.id);
  });

  it('a single-use link goes to the first user holding the code; its id alone is not enough', () => {
    const { ana, bo, cy, printer } = setup();
    const { invite, code: secret } = t.store.createInvite({ deviceId: printer.id, byUserId: ana.id }, T0);
    expect(invite.recipientUserId).toBeNull();
    expect(() => t.store.acceptInvite({ id: invite.id }, bo.id, T0)).toThrow(code('invite-unknown'));
    expect(() => t.store.acceptInvite({ code: `${secret}x` }, bo.id, T0)).toThrow(code('invite-unknown'));
    t.store.acceptInvite({ code: secret }, bo.id, T0);
    expect(() => t.store.acceptInvite({ code: secret }, cy.id, T0)).toThrow(code('invite-not-pending'));
  });

  it('a multi-use link stays open; accepting twice returns the same share', () => {
    const { ana, bo, cy, printer } = setup();
    const { invite, code: secret } = t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, multiUse: true },
      T0,
    );
    const toBo = t.store.acceptInvite({ code: secret }, bo.id, T0 + 1);
    const toCy = t.store.acceptInvite({ code: secret }, cy.id, T0 + 2);
    expect(t.store.acceptInvite({ code: secret }, bo.id, T0 + 3)).toEqual(toBo);
    expect(t.store.sharesOfDevice(printer.id)).toEqual([toBo, toCy]);
    expect(t.store.listInvites(ana.id, T0 + 3).outgoing).toEqual([
      expect.objectContaining({ id: invite.id, state: 'pending' }),
    ]);
  });

  it('expired invites read as expired and cannot be accepted or declined', () => {
    const { ana, bo, printer } = setup();
    const { invite, code: secret } = t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, recipientUserId: bo.id, expiresAt: T0 + DAY },
      T0,
    );
    expect(t.store.listInvites(bo.id, T0 + DAY - 1).incoming[0]?.state).toBe('pending');
    expect(t.store.listInvites(bo.id, T0 + DAY).incoming[0]?.state).toBe('expired');
    expect(() => t.store.acceptInvite({ code: secret }, bo.id, T0 + DAY)).toThrow(code('invite-expired'));
    expect(() => t.store.declineInvite(invite.id, bo.id, T0 + DAY)).toThrow(code('invite-expired'));
  });

  it('decline, and revoke from either side', () => {
    const { ana, bo, cy, printer } = setup();
    const named = (to: string) =>
      t.store.createInvite({ deviceId: printer.id, byUserId: ana.id, recipientUserId: to }, T0).invite;

    const declined = named(bo.id);
    expect(t.store.declineInvite(declined.id, bo.id, T0 + 1)).toMatchObject({
      state: 'declined',
      updatedAt: T0 + 1,
    });
    expect(() => t.store.acceptInvite({ id: declined.id }, bo.id, T0)).toThrow(code('invite-not-pending'));

    // The owner revokes an accepted invite: the share ends.
    const byOwner = named(bo.id);
    t.store.acceptInvite({ id: byOwner.id }, bo.id, T0);
    expect(t.store.revokeInvite(byOwner.id, ana.id, T0 + 2).state).toBe('revoked');
    expect(t.store.listAcceptedShares(bo.id)).toEqual([]);
    expect(() => t.store.revokeInvite(byOwner.id, ana.id, T0 + 3)).toThrow(code('invite-not-pending'));

    // The recipient revokes their accepted invite.
    const byRecipient = named(cy.id);
    t.store.acceptInvite({ id: byRecipient.id }, cy.id, T0);
    expect(t.store.revokeInvite(byRecipient.id, cy.id, T0 + 4).state).toBe('revoked');
    expect(t.store.sharesOfDevice(printer.id)).toEqual([]);

    // A recipient "revoking" a pending invite declines it; strangers may do neither.
    const pending = named(bo.id);
    expect(() => t.store.revokeInvite(pending.id, cy.id, T0)).toThrow(code('invite-unknown'));
    expect(t.store.revokeInvite(pending.id, bo.id, T0 + 5).state).toBe('declined');
  });

  it('revoking a multi-use link ends every share made from it; one share can end alone', () => {
    const { ana, bo, cy, printer } = setup();
    const { invite, code: secret } = t.store.createInvite(
      { deviceId: printer.id, byUserId: ana.id, multiUse: true },
      T0,
    );
    const toBo = t.store.acceptInvite({ code: secret }, bo.id, T0);
    t.store.acceptInvite({ code: secret }, cy.id, T0);
    expect(() => t.store.revokeShare(toBo.id, cy.id, T0)).toThrow(code('not-found'));
    t.store.revokeShare(toBo.id, bo.id, T0 + 1);
    expect(t.store.sharesOfDevice(printer.id).map((s) => s.recipientUserId)).toEqual([cy.id]);
    expect(t.store.listInvites(ana.id, T0).outgoing[0]?.state).toBe('pending');

    t.store.revokeInvite(invite.id, ana.id, T0 + 2);
    expect(t.store.sharesOfDevice(printer.id)).toEqual([]);
    expect(t.store.changesSince(cy.networkId, 0)?.map((c) => c.kind)).toEqual([
      'share-changed',
      'share-changed',
    ]);
    expect(() => t.store.acceptInvite({ code: secret }, bo.id, T0 + 3)).toThrow(code('invite-not-pending'));
  });

  it('only the owner shares, and not with someone who already sees the device', () => {
    const { ana, bo, printer } = setup();
    const mate = t.store.createUser({ name: 'mate', networkId: ana.networkId }, T0);
    expect(() => t.store.createInvite({ deviceId: printer.id, byUserId: bo.id }, T0)).toThrow(
      code('not-found'),
    );
    expect(() =>
      t.store.createInvite({ deviceId: printer.id, byUserId: ana.id, recipientUserId: mate.id }, T0),
    ).toThrow(code('invalid'));
    expect(() =>
      t.store.createInvite(
        { deviceId: printer.id, byUserId: ana.id, recipientUserId: bo.id, multiUse: true },
        T0,
      ),
    ).toThrow(code('invalid'));
    const link = t.store.createInvite({ deviceId: printer.id, byUserId: ana.id }, T0);
    expect(() => t.store.acceptInvite({ code: link.code }, ana.id, T0)).toThrow(code('invalid'));
    expect(() => t.store.createInvite({ deviceId: 'nope', byUserId: ana.id }, T0)).toThrow(code('not-found'));
  });

  it("refuses someone else's device, invite or share exactly as one that never existed", () => {
    const { ana, bo, cy, printer } = setup();
    const named = () =>
      t.store.createInvite({ deviceId: printer.id, byUserId: ana.id, recipientUserId: bo.id }, T0);
    const accepted = named();
    const share = t.store.acceptInvite({ id: accepted.invite.id }, bo.id, T0);
    const pending = named();
    const link = t.store.createInvite({ deviceId: printer.id, byUserId: ana.id }, T0);
    const seq = t.store.currentSeq();
    // Cy, in a network of her own, tries each with a real id and with one that never existed.
    const attempts: [string, (id: string) => unknown, string][] = [
      ['share a device', (id) => t.store.createInvite({ deviceId: id, byUserId: cy.id }, T0), printer.id],
      ['accept a named invite', (id) => t.store.acceptInvite({ id }, cy.id, T0), pending.invite.id],
      ['accept a link by id', (id) => t.store.acceptInvite({ id }, cy.id, T0), link.invite.id],
      ['accept by code', (c) => t.store.acceptInvite({ code: c }, cy.id, T0), pending.code],
      ['decline', (id) => t.store.declineInvite(id, cy.id, T0), pending.invite.id],
      ['revoke an invite', (id) => t.store.revokeInvite(id, cy.id, T0), accepted.invite.id],
      ['revoke a share', (id) => t.store.revokeShare(id, cy.id, T0), share.id],
    ];
    const madeUp = (real: string) =>
      real.startsWith('binv-') ? `binv-000000000000-${'A'.repeat(43)}` : 'A'.repeat(real.length);
    for (const [what, act, real] of attempts) {
      const fake = madeUp(real);
      expect(
        refusal(() => act(real), real),
        what,
      ).toEqual(refusal(() => act(fake), fake));
    }
    expect(t.store.currentSeq()).toBe(seq); // and nothing changed
    expect(
      t.store
        .listInvites(bo.id, T0)
        .incoming.map((i) => i.state)
        .sort(),
    ).toEqual(['accepted', 'pending']);
    expect(t.store.listAcceptedShares(bo.id)).toEqual([share]);
  });

  it('a shared device changing or going away reaches the recipient network too', () => {
    const { ana, bo, printer } = setup();
    const { code: secret } = t.store.createInvite({ deviceId: printer.id, byUserId: ana.id }, T0);
    t.store.acceptInvite({ code: secret }, bo.id, T0);
    const seq = t.store.currentSeq();
    t.store.renameDevice(printer.id, 'laser', T0 + 1);
    t.store.deleteDevice(printer.id, T0 + 2);
    for (const networkId of [ana.networkId, bo.networkId]) {
      expect(t.store.changesSince(networkId, seq)?.map((c) => [c.kind, c.deviceId])).toEqual([
        ['device-changed', printer.id],
        ['device-removed', printer.id],
      ]);
    }
    expect(t.store.listAcceptedShares(bo.id)).toEqual([]);
    expect(t.store.listInvites(ana.id, T0).outgoing).toEqual([]);
  });
});
