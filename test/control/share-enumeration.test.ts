/**
 * What a device can learn about other networks from refusals over its control channel, against the
 * real burrow-server process: someone else's device, invite, code or share must be refused exactly
 * as one that never existed, and a user name must not be confirmed to whoever cannot share.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { device, runCleanups, waitFor } from '../support/control-lab.js';
import { serverProcess } from '../support/server-process.js';

afterEach(runCleanups);

// The first start may compile the server; do it once, outside the timed test.
beforeAll(async () => {
  await serverProcess();
  await runCleanups();
}, 180_000);

/** An id shaped like the server's own (12 random bytes), that no record has. */
const madeUpId = () => randomBytes(12).toString('base64url');
const madeUpCode = () => `binv-${randomBytes(6).toString('hex')}-${randomBytes(32).toString('base64url')}`;

/** How the request is refused, with the id it named written as ID: what the asking device learns. */
async function refusal(request: Promise<unknown>, id: string) {
  const error = await request.then(
    () => {
      throw new Error(`not refused (${id})`);
    },
    (e: Error) => e,
  );
  return { kind: error.name, message: error.message.replaceAll(id, 'ID') };
}

describe('refusals over the control channel', () => {
  it("tell a device nothing about other networks' devices, users, invites and shares", async () => {
    const server = await serverProcess();
    const { store } = server;
    const now = Date.now();
    const user = async (name: string) => await store.createUser({ name }, now);
    const [alice, bob, carl] = [await user('alice'), await user('bob'), await user('carl')];
    const authKey = async (userId: string) => (await store.createAuthKey({ userId }, now)).secret;
    // Alice's nas and Bob's pc, each in a network of its own; Carl has a share of the nas.
    const nas = device(server.url, { hostname: 'nas', authKey: await authKey(alice.id) });
    const pc = device(server.url, { hostname: 'pc', authKey: await authKey(bob.id) });
    nas.client.start();
    pc.client.start();
    const nasId = (await waitFor('the nas map', () => nas.client.netmap, 30_000)).self.id;
    await waitFor('the pc map', () => pc.client.netmap, 30_000);
    const invite = async (recipientUserId?: string) =>
      await store.createInvite({ deviceId: nasId, byUserId: alice.id, recipientUserId }, now);
    const forCarl = await invite(carl.id);
    const accepted = await invite(carl.id);
    const share = await store.acceptInvite({ id: accepted.invite.id }, carl.id, now);
    const link = await invite();
    const seq = await store.currentSeq();

    // Bob's pc asks about each with the real id, then with one that never existed.
    const pcAsks: [string, (id: string) => Promise<unknown>, string][] = [
      ['share a device', (id) => pc.client.createShare(id), nasId],
      ['share a device with a user', (id) => pc.client.createShare(id, { recipient: 'carl' }), nasId],
      ['share a device with no user', (id) => pc.client.createShare(id, { recipient: 'nobody' }), nasId],
      ['accept a named invite', (id) => pc.client.acceptShare({ inviteId: id }), forCarl.invite.id],
      ['accept a link by its id', (id) => pc.client.acceptShare({ inviteId: id }), link.invite.id],
      ['accept by a code', (code) => pc.client.acceptShare({ code }), forCarl.code],
      ['decline', (id) => pc.client.declineShare(id), forCarl.invite.id],
      ['revoke an invite', (id) => pc.client.revokeShare({ inviteId: id }), accepted.invite.id],
      ['revoke a share', (id) => pc.client.revokeShare({ shareId: id }), share.id],
    ];
    for (const [what, ask, real] of pcAsks) {
      const fake = real.startsWith('binv-') ? madeUpCode() : madeUpId();
      const asReal = await refusal(ask(real), real);
      expect(asReal.kind, what).toBe('RequestRefused');
      expect.soft(asReal, what).toEqual(await refusal(ask(fake), fake));
    }
    // Whether a user exists is not told to a device that may not share the device it names.
    expect(await refusal(pc.client.createShare(nasId, { recipient: 'carl' }), nasId)).toEqual(
      await refusal(pc.client.createShare(nasId, { recipient: 'nobody' }), nasId),
    );

    // Nothing changed, and the owner's and the recipient's own requests still work.
    expect(await store.currentSeq()).toBe(seq);
    expect((await store.listInvites(carl.id, Date.now())).incoming.map((i) => i.state).sort()).toEqual([
      'accepted',
      'pending',
    ]);
    expect(await store.listAcceptedShares(carl.id)).toEqual([share]);
    expect((await nas.client.listShares()).accepted.map((s) => s.id)).toEqual([share.id]);
    await nas.client.revokeShare({ shareId: share.id });
    expect(await store.listAcceptedShares(carl.id)).toEqual([]);
  }, 60_000);
});
