import { afterEach, describe, expect, it } from 'vitest';
import type { NodeInfo } from '../../src/control/messages.js';
import { SchemaError } from '../../src/control/schema.js';
import {
  device,
  newKey,
  runCleanups,
  scriptedServer,
  serverFiles,
  type TestDevice,
  waitFor,
} from '../../test/support/control-lab.js';
import { RequestRefused } from './share-requests.js';

afterEach(runCleanups);

/** The peer named `name` in the device's netmap, if there is one. */
const peer = (d: TestDevice, name: string) => d.client.netmap?.peers.find((p) => p.name === name);

/** How many times the device was told its user's shares changed, so far. */
function sharesChangedCount(d: TestDevice): () => number {
  let n = 0;
  d.client.on('sharesChanged', () => n++);
  return () => n;
}

describe('sharing over the control channel', () => {
  it('creates, lists, accepts, declines and revokes as the device owner, and maps follow', async () => {
    const { store, authKey, serve } = await serverFiles();
    const server = await serve();
    const keyOf = async (name: string) => {
      const user = await store.createUser({ name }, Date.now());
      return (await store.createAuthKey({ userId: user.id }, Date.now())).secret;
    };
    const aliceKey = await authKey(true);
    // Alice shares her nas from her laptop; Bob (phone) and Cy (tablet) have networks of their own.
    const laptop = device(server.url, { hostname: 'laptop', authKey: aliceKey });
    const nas = device(server.url, { hostname: 'nas', authKey: aliceKey });
    const phone = device(server.url, { hostname: 'phone', authKey: await keyOf('bob') });
    const tablet = device(server.url, { hostname: 'tablet', authKey: await keyOf('cy') });
    await expect(phone.client.listShares()).rejects.toThrow('not connected to the control server');
    for (const d of [laptop, nas, phone, tablet]) d.client.start();
    const nasId = (await waitFor('the nas map', () => nas.client.netmap)).self.id;
    await waitFor('every map', () => [laptop, phone, tablet].every((d) => d.client.netmap));
    const phoneTold = sharesChangedCount(phone);

    const forBob = await laptop.client.createShare(nasId, { recipient: 'bob' });
    const link = await laptop.client.createShare(nasId);
    const forCy = await laptop.client.createShare(nasId, { recipient: 'cy' });
    expect(forBob.invite).toMatchObject({
      device: 'nas',
      owner: 'alice',
      recipient: 'bob',
      state: 'pending',
    });
    expect(link.invite.recipient).toBeNull();
    expect(link.code).toMatch(new RegExp(`^binv-${link.invite.prefix}-`));
    await waitFor('bob told of his invite', () => phoneTold() > 0);

    const bobs = await phone.client.listShares();
    expect(bobs).toEqual({ incoming: [forBob.invite], outgoing: [], accepted: [] });
    expect(JSON.stringify(bobs)).not.toContain(forBob.code);

    const share = await phone.client.acceptShare({ inviteId: forBob.invite.id });
    expect(share).toMatchObject({ deviceId: nasId, device: 'nas', owner: 'alice', recipient: 'bob' });
    expect(await waitFor('the nas in bob’s map', () => peer(phone, 'nas'))).toMatchObject({ shared: true });

    const alices = await laptop.client.listShares();
    expect(alices.incoming).toEqual([]);
    expect(alices.outgoing.map((i) => [i.id, i.state])).toEqual([
      [forCy.invite.id, 'pending'],
      [link.invite.id, 'pending'],
      [forBob.invite.id, 'accepted'],
    ]);
    expect(alices.accepted).toEqual([share]);

    expect(await tablet.client.declineShare(forCy.invite.id)).toMatchObject({
      state: 'declined',
      recipient: 'cy',
    });
    // Cy takes the link instead, then gives it back: the recipient's side of revoking.
    const cys = await tablet.client.acceptShare({ code: link.code });
    await waitFor('the nas in cy’s map', () => peer(tablet, 'nas'));
    await tablet.client.revokeShare({ shareId: cys.id });
    await waitFor('the nas gone from cy’s map', () => !peer(tablet, 'nas'));

    // The owner's side: revoking Bob's invite ends his share.
    const told = phoneTold();
    await laptop.client.revokeShare({ inviteId: forBob.invite.id });
    await waitFor('the nas gone from bob’s map', () => !peer(phone, 'nas'));
    await waitFor('bob told of the revocation', () => phoneTold() > told);
    expect((await phone.client.listShares()).accepted).toEqual([]);

    // Refusals are answers: the channel stays up and keeps working.
    const refusal = await phone.client.createShare(nasId).catch((error: Error) => error);
    expect(refusal).toBeInstanceOf(RequestRefused);
    expect((refusal as Error).message).toBe(`no device ${nasId} that you can share`);
    await expect(laptop.client.createShare(nasId, { recipient: 'nobody' })).rejects.toThrow(
      'no user "nobody"',
    );
    await expect(phone.client.acceptShare({ inviteId: forBob.invite.id })).rejects.toThrow(/already revoked/);
    // A malformed argument fails the call without being sent: the server would close the channel.
    await expect(tablet.client.acceptShare({ code: 'binv-nope' })).rejects.toThrow(SchemaError);
    expect(await phone.client.ping()).toBeGreaterThanOrEqual(0);
    expect(await tablet.client.ping()).toBeGreaterThanOrEqual(0);
    for (const d of [laptop, phone, tablet]) {
      expect(d.states.filter((s) => s.state === 'connecting')).toHaveLength(1);
    }
  });
});

describe('share requests against a scripted server', () => {
  const self: NodeInfo = {
    id: 'dev_self',
    name: 'laptop',
    user: 'alice',
    network: 'alice',
    ips: ['100.64.0.1'],
    nodeKey: newKey(),
    discoKey: newKey(),
    endpoints: [],
    online: true,
    lastSeen: null,
    keyExpiry: null,
    shared: false,
    exitNodeOption: false,
    routes: [],
  };

  it('fail when the connection drops, when no reply comes in time, and on a reply of the wrong kind', async () => {
    const server = await scriptedServer();
    const d = device(server.url, {
      hostname: 'laptop',
      authKey: 'bkey-test',
      serverPublicKey: server.publicKey,
      requestTimeoutMs: 300,
    });
    d.client.start();
    const c0 = await server.next(0, 'register');
    c0.send({ type: 'register-result', status: 'ok', self });
    await waitFor('connected', () => d.client.state.state === 'connected');
    const dropped = d.client.listShares();
    await server.next(0, 'share-list');
    c0.c.channel.close();
    await expect(dropped).rejects.toThrow(/^control connection closed/);

    const c1 = await server.next(1, 'register');
    c1.send({ type: 'register-result', status: 'ok', self });
    await waitFor('connected again', () => d.client.state.state === 'connected');
    await expect(d.client.listShares()).rejects.toThrow('no reply to share-list within 300 ms');
    const mismatched = d.client.declineShare('inv_1');
    const { message } = await server.next(1, 'share-decline');
    c1.send({ type: 'reply', id: message.id, outcome: 'ok', result: { op: 'share-revoke' } });
    await expect(mismatched).rejects.toThrow('the server answered share-decline with a share-revoke result');
  });
});
