import { describe, expect, it } from 'vitest';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { DAY, identity, mapEach, randomKey, T0 } from '../testing.js';
import { DEFAULTS } from '../types.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

describe.each(BACK_ENDS)('devices ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);
  const setup = async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const net = await t.store.getNetwork(ana.networkId);
    const register = async (hostname = 'host', at = T0) =>
      await t.store.registerDevice({ ...identity(hostname), userId: ana.id }, at);
    return { ana, net, register };
  };

  it('register with addresses, defaults and a device-added change', async () => {
    const { ana, net } = await setup();
    const id = identity('laptop');
    const d = await t.store.registerDevice({ ...id, userId: ana.id }, T0);
    expect(d).toEqual({
      id: d.id,
      networkId: net.id,
      userId: ana.id,
      name: 'laptop',
      machineKey: id.machineKey,
      nodeKey: id.nodeKey,
      discoKey: id.discoKey,
      ipv4: '100.64.0.1',
      ipv6: `${net.ula.replace('::/48', '')}::6440:1`,
      tags: [],
      ephemeral: false,
      keyExpiry: T0 + DEFAULTS.deviceKeyLifetimeMs,
      lastSeen: null,
      online: false,
      endpoints: [],
      homeRelay: null,
      advertisedRoutes: [],
      approvedRoutes: [],
      advertisesExitNode: false,
      exitNodeApproved: false,
      createdAt: T0,
    });
    expect(await t.store.getDevice(d.id)).toEqual(d);
    expect(await t.store.findDeviceByMachineKey(id.machineKey)).toEqual(d);
    expect(await t.store.findDeviceByNodeKey(id.nodeKey)).toEqual(d);
    expect(await t.store.findDeviceByNodeKey(randomKey())).toBeNull();
    expect(await t.store.changesSince(net.id, 0)).toEqual([
      { seq: 1, networkId: net.id, kind: 'device-added', deviceId: d.id, createdAt: T0 },
    ]);
  });

  it('get unique DNS names in their network: host, host-1, host-2', async () => {
    const { register } = await setup();
    expect(await mapEach(['host', 'host', 'HOST', 'host'], async (h) => (await register(h)).name)).toEqual([
      'host',
      'host-1',
      'host-2',
      'host-3',
    ]);
    expect((await register("Ana's iPhone (2)")).name).toBe('ana-s-iphone-2');
    expect((await register('---')).name).toBe('device');
    expect((await register('x'.repeat(80))).name).toBe('x'.repeat(63));
    expect((await register('x'.repeat(80))).name).toBe(`${'x'.repeat(61)}-1`);
    // A device someone renamed to "host-4" is stepped over.
    const d = await register('other');
    await t.store.renameDevice(d.id, 'host-4', T0);
    expect((await register('host')).name).toBe('host-5');
    // Other networks have their own names.
    const bo = await t.store.createUser({ name: 'bo' }, T0);
    expect((await t.store.registerDevice({ ...identity('host'), userId: bo.id }, T0)).name).toBe('host');
  });

  it('refuse malformed keys and duplicate machine or node keys', async () => {
    const { ana, register } = await setup();
    const d = await register();
    const bad = { ...identity(), userId: ana.id, nodeKey: 'short' };
    await expect(t.store.registerDevice(bad, T0)).rejects.toThrow(code('invalid'));
    await expect(
      t.store.registerDevice({ ...identity(), userId: ana.id, nodeKey: d.nodeKey }, T0),
    ).rejects.toThrow(code('duplicate-key'));
    await expect(t.store.registerDevice({ ...identity(), userId: 'nope' }, T0)).rejects.toThrow(
      code('not-found'),
    );
    await expect(t.store.getDevice('nope')).rejects.toThrow(code('not-found'));
  });

  it('re-registering a known machine re-authenticates it; for another user it replaces it', async () => {
    const { ana, net } = await setup();
    const id = identity('pc');
    const d = await t.store.registerDevice({ ...id, userId: ana.id }, T0);
    const nodeKey = randomKey();
    const again = await t.store.registerDevice({ ...id, nodeKey, userId: ana.id }, T0 + DAY);
    expect(again).toEqual({ ...d, nodeKey, keyExpiry: T0 + DAY + DEFAULTS.deviceKeyLifetimeMs });

    const bo = await t.store.createUser({ name: 'bo' }, T0);
    const moved = await t.store.registerDevice({ ...id, userId: bo.id }, T0 + 2 * DAY);
    expect(moved.id).not.toBe(d.id);
    expect(moved.networkId).toBe(bo.networkId);
    expect(await t.store.listDevices(net.id)).toEqual([]);
    expect((await t.store.changesSince(net.id, 0))?.map((c) => c.kind)).toEqual([
      'device-added',
      'device-changed',
      'device-removed',
    ]);
  });

  it('rename (refusing taken and malformed names), rotate keys and re-authenticate', async () => {
    const { register } = await setup();
    const a = await register('a');
    await register('b');
    expect((await t.store.renameDevice(a.id, 'web-1', T0)).name).toBe('web-1');
    await expect(t.store.renameDevice(a.id, 'b', T0)).rejects.toThrow(code('duplicate-name'));
    for (const bad of ['Web', 'web_1', '-web', '', 'x'.repeat(64)]) {
      await expect(t.store.renameDevice(a.id, bad, T0)).rejects.toThrow(code('invalid'));
    }
    await expect(t.store.renameDevice('nope', 'c', T0)).rejects.toThrow(code('not-found'));

    const key = randomKey();
    expect((await t.store.rotateNodeKey(a.id, key, T0)).nodeKey).toBe(key);
    expect((await t.store.findDeviceByNodeKey(key))?.id).toBe(a.id);
    await expect(t.store.rotateNodeKey(a.id, (await register('c')).nodeKey, T0)).rejects.toThrow(
      code('duplicate-key'),
    );

    expect((await t.store.reauthenticateDevice(a.id, T0 + DAY)).keyExpiry).toBe(
      T0 + DAY + DEFAULTS.deviceKeyLifetimeMs,
    );
    expect((await t.store.reauthenticateDevice(a.id, T0 + DAY, null)).keyExpiry).toBeNull();
  });

  it('keep status; only changes peers act on reach the change feed', async () => {
    const { net, register } = await setup();
    const d = await register();
    const seq = await t.store.currentSeq();
    const s = await t.store.setDeviceStatus(
      d.id,
      { online: true, lastSeen: T0 + 5, endpoints: ['192.0.2.1:41641'] },
      T0 + 5,
    );
    expect(s).toMatchObject({ online: true, lastSeen: T0 + 5, endpoints: ['192.0.2.1:41641'] });
    expect(await t.store.currentSeq()).toBe(seq + 1);
    await t.store.setDeviceStatus(
      d.id,
      { online: true, lastSeen: T0 + 6, endpoints: ['192.0.2.1:41641'] },
      T0 + 6,
    );
    expect((await t.store.getDevice(d.id)).lastSeen).toBe(T0 + 6);
    expect(await t.store.currentSeq()).toBe(seq + 1);
    await t.store.setDeviceStatus(d.id, { endpoints: ['[2001:db8::1]:41641', '192.0.2.1:41641'] }, T0 + 7);
    expect((await t.store.changesSince(net.id, seq))?.map((c) => c.kind)).toEqual([
      'device-changed',
      'device-changed',
    ]);
    await expect(t.store.setDeviceStatus(d.id, { endpoints: ['192.0.2.1'] }, T0)).rejects.toThrow(
      code('invalid'),
    );
    await expect(t.store.setDeviceStatus('nope', { online: false }, T0)).rejects.toThrow(code('not-found'));
  });

  it('keep the home relay a device reports: changes reach the feed, bad values change nothing', async () => {
    const { net, register } = await setup();
    const d = await register();
    const seq = await t.store.currentSeq();
    expect(await t.store.setDeviceStatus(d.id, { homeRelay: 901, lastSeen: T0 + 1 }, T0 + 1)).toMatchObject({
      homeRelay: 901,
      lastSeen: T0 + 1,
    });
    // The same region again, or no word about it, is no change.
    await t.store.setDeviceStatus(d.id, { homeRelay: 901, lastSeen: T0 + 2 }, T0 + 2);
    await t.store.setDeviceStatus(d.id, { endpoints: [], lastSeen: T0 + 3 }, T0 + 3);
    expect(await t.store.currentSeq()).toBe(seq + 1);
    await t.store.setDeviceStatus(d.id, { homeRelay: 2 }, T0 + 4);
    await t.store.setDeviceStatus(d.id, { homeRelay: null }, T0 + 5);
    expect((await t.store.getDevice(d.id)).homeRelay).toBeNull();
    expect(await t.store.changesSince(net.id, seq)).toEqual(
      [T0 + 1, T0 + 4, T0 + 5].map((createdAt, i) => ({
        seq: seq + 1 + i,
        networkId: net.id,
        kind: 'device-changed',
        deviceId: d.id,
        createdAt,
      })),
    );

    await t.store.setDeviceStatus(d.id, { homeRelay: 65535, endpoints: ['192.0.2.1:41641'] }, T0 + 6);
    const good = await t.store.getDevice(d.id);
    const after = await t.store.currentSeq();
    for (const bad of [0, 65536, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(
        t.store.setDeviceStatus(d.id, { online: true, endpoints: ['192.0.2.9:1'], homeRelay: bad }, T0 + 7),
      ).rejects.toThrow(
        expect.objectContaining({ code: 'invalid', message: expect.stringMatching(/home relay/) }),
      );
    }
    expect(await t.store.getDevice(d.id)).toEqual(good); // not even the valid fields were set
    expect(await t.store.currentSeq()).toBe(after);

    // It is kept in the database file, as a restarted server finds it.
    expect(await (await t.reopen()).getDevice(d.id)).toEqual(good);
    expect(good.homeRelay).toBe(65535);
  });

  it('keep advertised and approved routes apart', async () => {
    const { register } = await setup();
    const d = await register();
    const offered = await t.store.setAdvertisedRoutes(
      d.id,
      { routes: ['10.1.0.0/16', 'fd00:1::/64'], exitNode: true },
      T0,
    );
    expect(offered).toMatchObject({
      advertisedRoutes: ['10.1.0.0/16', 'fd00:1::/64'],
      advertisesExitNode: true,
      approvedRoutes: [],
      exitNodeApproved: false,
    });
    const approved = await t.store.approveRoutes(d.id, { routes: ['10.1.0.0/16'], exitNode: true }, T0);
    expect(approved).toMatchObject({ approvedRoutes: ['10.1.0.0/16'], exitNodeApproved: true });
    expect(approved.advertisedRoutes).toEqual(['10.1.0.0/16', 'fd00:1::/64']);
    for (const bad of ['10.1.0.0', '10.1.0.0/33', 'fd00::/129', 'example.com/8']) {
      await expect(t.store.approveRoutes(d.id, { routes: [bad], exitNode: false }, T0)).rejects.toThrow(
        code('invalid'),
      );
    }
  });

  it('list by network (by name) and by user; delete with a device-removed change', async () => {
    const { ana, net, register } = await setup();
    const b = await register('b');
    const a = await register('a');
    const other = await t.store.createUser({ name: 'cy', networkId: net.id }, T0);
    const c = await t.store.registerDevice({ ...identity('c'), userId: other.id }, T0);
    expect((await t.store.listDevices(net.id)).map((d) => d.name)).toEqual(['a', 'b', 'c']);
    expect(await t.store.listUserDevices(ana.id)).toEqual([a, b]);
    expect(await t.store.listUserDevices(other.id)).toEqual([c]);

    await t.store.deleteDevice(b.id, T0 + 1);
    await expect(t.store.getDevice(b.id)).rejects.toThrow(code('not-found'));
    expect(await t.store.listDevices(net.id)).toEqual([a, c]);
    expect(await t.store.changesSince(net.id, (await t.store.currentSeq()) - 1)).toEqual([
      {
        seq: await t.store.currentSeq(),
        networkId: net.id,
        kind: 'device-removed',
        deviceId: b.id,
        createdAt: T0 + 1,
      },
    ]);
    await expect(t.store.deleteDevice(b.id, T0)).rejects.toThrow(code('not-found'));
    // Its name and keys are free again.
    expect(
      (await t.store.registerDevice({ ...identity('b'), machineKey: b.machineKey, userId: ana.id }, T0)).name,
    ).toBe('b');
  });
});
