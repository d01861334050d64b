import { describe, expect, it } from 'vitest';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { identity, T0 } from '../testing.js';

describe.each(BACK_ENDS)('the database across a restart ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);

  it('keeps everything across a restart; sequences and the address cursor carry on', async () => {
    const ana = await t.store.createUser({ name: 'ana', password: 'pw-long-enough' }, T0);
    const { secret } = await t.store.createAuthKey({ userId: ana.id, reusable: true }, T0);
    const api = await t.store.createApiKey({ networkId: ana.networkId }, T0);
    const a = await t.store.registerDeviceWithAuthKey(secret, identity('host'), T0);
    const b = await t.store.registerDeviceWithAuthKey(secret, identity('host'), T0);
    const bo = await t.store.createUser({ name: 'bo' }, T0);
    const { code } = await t.store.createInvite({ deviceId: a.id, byUserId: ana.id }, T0);
    const share = await t.store.acceptInvite({ code }, bo.id, T0);
    await t.store.setPolicy(ana.networkId, '{"acls": []}', T0);
    const login = await t.store.createLoginSession(identity('pending'), T0);
    await t.store.deleteDevice(b.id, T0 + 1);
    const seq = await t.store.currentSeq();
    const changes = await t.store.changesSince(ana.networkId, 0);

    const store = await t.reopen();
    expect(await store.getUser(ana.id)).toEqual(ana);
    expect((await store.verifyPassword('ana', 'pw-long-enough'))?.id).toBe(ana.id);
    expect(await store.listDevices(ana.networkId)).toEqual([a]);
    expect(await store.listAcceptedShares(bo.id)).toEqual([share]);
    expect((await store.getPolicy(ana.networkId))?.text).toBe('{"acls": []}');
    expect(await store.getLoginSession(login.id)).toEqual(login);
    expect(await store.verifyApiKey(api.secret, T0 + 2)).toMatchObject({
      id: api.apiKey.id,
      networkId: ana.networkId,
    });
    expect(await store.currentSeq()).toBe(seq);
    expect(await store.changesSince(ana.networkId, 0)).toEqual(changes);

    // The deleted device's address is not handed out again; its name is free.
    const c = await store.registerDeviceWithAuthKey(secret, identity('host'), T0 + 3);
    expect(c.ipv4).toBe('100.64.0.3');
    expect(c.name).toBe('host-1');
    expect(await store.currentSeq()).toBe(seq + 1);
  });
});
