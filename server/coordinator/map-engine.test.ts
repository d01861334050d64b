import { describe, expect, it } from 'vitest';
import { deviceNames } from '../../src/control/device-names.js';
import { type Netmap, netmap as netmapSchema, serverMessage } from '../../src/control/messages.js';
import { applyDelta, canonicalNetmap } from '../../src/control/netmap-state.js';
import { parseJson } from '../../src/control/schema.js';
import { Rng } from '../../test/support/rng.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { DAY, identity, mapEach, T0, times, withTempStore } from '../store/testing.js';
import { MapEngine } from './map-engine.js';

const t = withTempStore();

async function world() {
  const { store } = t;
  const home = await store.createNetwork({ name: 'home' }, T0);
  const alice = await store.createUser({ name: 'alice', networkId: home.id }, T0);
  const bob = await store.createUser({ name: 'bob', networkId: home.id }, T0);
  const carol = await store.createUser({ name: 'carol' }, T0);
  const dev = async (userId: string, name: string) =>
    await store.registerDevice({ ...identity(name), userId }, T0);
  return {
    store,
    home,
    alice,
    bob,
    carol,
    laptop: await dev(alice.id, 'laptop'),
    phone: await dev(alice.id, 'phone'),
    pc: await dev(bob.id, 'pc'),
    nas: await dev(carol.id, 'nas'),
  };
}

const names = (m: { peers: { name: string }[] }) => m.peers.map((p) => p.name).sort();
const admitted = (m: { filter: { srcIps: string[] }[] }, ip: string) =>
  m.filter.some((r) => r.srcIps.includes(`${ip}/32`));

/** A device following its stream as burrowd does: full map, then deltas applied in order. */
class Follower {
  map: Netmap | null = null;
  readonly messages: string[] = [];
  closed: string | null = null;
  readonly sink = {
    sendJson: (json: string) => {
      this.messages.push(json);
      const m = parseJson(serverMessage, json); // everything sent passes the device's own checks
      if (m.type === 'full-map') this.map = m.map;
      else if (m.type === 'delta') this.map = applyDelta(this.map!, m);
    },
    close: (reason: string) => {
      this.closed = reason;
    },
  };
}

/** Drives an engine from the store's change feed, as the coordinator does. */
async function feed(store: SqliteStore, now: () => number = () => T0) {
  let seq = await store.currentSeq();
  const engine = await MapEngine.open(store, now);
  const poll = async () => {
    const changes = await store.changesAfter(seq);
    const update = await engine.read(changes);
    seq = await store.currentSeq();
    engine.apply(update, seq);
    engine.expire(seq);
  };
  /** As the coordinator does: the engine is brought up to the store, then the stream starts. */
  const follow = async (deviceId: string) => {
    await poll();
    const f = new Follower();
    engine.attach(deviceId, f.sink, seq);
    return f;
  };
  return { engine, poll, follow };
}

/** What a device would be sent if it connected now, worked out by an engine that saw no history. */
const fresh = async (store: SqliteStore, deviceId: string, now = T0) =>
  canonicalNetmap((await MapEngine.open(store, () => now)).netmap(deviceId));

describe('maps', () => {
  it('without a policy, a network sees itself and nothing of other networks', async () => {
    const w = await world();
    const e = await MapEngine.open(w.store, () => T0);
    const m = e.netmap(w.laptop.id);
    expect(netmapSchema.parse(m)).toEqual(m); // what the server sends is what the protocol accepts
    expect(m.self.name).toBe('laptop');
    expect(names(m)).toEqual(['pc', 'phone']);
    expect(admitted(m, w.pc.ipv4)).toBe(true);
    expect(admitted(m, w.nas.ipv4)).toBe(false);
    expect(names(e.netmap(w.nas.id))).toEqual([]);
    expect(
      deviceNames(m)
        .map((d) => d.short)
        .sort(),
    ).toEqual(['laptop', 'pc', 'phone']);
  });

  it('with a policy, peers are those either side may reach, and filters hold only what reaches the device', async () => {
    const w = await world();
    await w.store.setPolicy(
      w.home.id,
      '{"acls": [{"action": "accept", "src": ["alice"], "dst": ["bob:22"]}]}',
      T0,
    );
    const e = await MapEngine.open(w.store, () => T0);
    const laptop = e.netmap(w.laptop.id);
    const pc = e.netmap(w.pc.id);
    expect(names(laptop)).toEqual(['pc']); // alice's own devices may not reach each other
    expect(names(pc)).toEqual(['laptop', 'phone']);
    expect(admitted(laptop, w.pc.ipv4)).toBe(false); // bob may not start connections to alice
    expect(pc.filter.some((r) => r.dstPorts.some((p) => p.ports.first === 22 && p.ports.last === 22))).toBe(
      true,
    );
  });

  it('a shared device is seen only by the recipient user, quarantined, and sees them back', async () => {
    const w = await world();
    const { code } = await w.store.createInvite(
      { deviceId: w.nas.id, byUserId: w.carol.id, recipientUserId: w.alice.id },
      T0,
    );
    await w.store.acceptInvite({ code }, w.alice.id, T0);
    const e = await MapEngine.open(w.store, () => T0);
    const laptop = e.netmap(w.laptop.id);
    const nasPeer = laptop.peers.find((p) => p.name === 'nas')!;
    expect(nasPeer.shared).toBe(true);
    expect(admitted(laptop, w.nas.ipv4)).toBe(false); // it may never start a connection to alice
    expect(deviceNames(laptop).find((d) => d.id === w.nas.id)).toMatchObject({
      short: 'nas',
      fqdn: 'nas.carol.burrow.internal',
      own: false,
    });
    expect(names(e.netmap(w.pc.id))).not.toContain('nas'); // bob is in the network, not the share
    const nas = e.netmap(w.nas.id);
    expect(names(nas)).toEqual(['laptop', 'phone']);
    expect(admitted(nas, w.laptop.ipv4)).toBe(true);
    expect(admitted(nas, w.pc.ipv4)).toBe(false);
  });

  it('routes and exit nodes appear only when advertised and approved', async () => {
    const w = await world();
    await w.store.setAdvertisedRoutes(w.pc.id, { routes: ['10.1.0.0/16'], exitNode: true }, T0);
    const { poll, follow } = await feed(w.store);
    const laptop = await follow(w.laptop.id);
    let pc = laptop.map!.peers.find((p) => p.name === 'pc')!;
    expect(pc.routes).toEqual([]);
    expect(pc.exitNodeOption).toBe(false);
    await w.store.approveRoutes(w.pc.id, { routes: ['10.1.0.0/16'], exitNode: true }, T0);
    await poll();
    pc = laptop.map!.peers.find((p) => p.name === 'pc')!;
    expect(pc.routes).toEqual(['10.1.0.0/16']);
    expect(pc.exitNodeOption).toBe(true);
  });
});

describe('streams', () => {
  it('an endpoint change sends each peer one small delta naming only that device', async () => {
    const w = await world();
    const extra = await times(60, (i) =>
      w.store.registerDevice({ ...identity(`d${i}`), userId: w.bob.id }, T0),
    );
    const { poll, follow } = await feed(w.store);
    const followers = await mapEach([w.laptop, w.phone, ...extra], (d) => follow(d.id));
    const nas = await follow(w.nas.id);
    await w.store.setDeviceStatus(w.pc.id, { endpoints: ['192.0.2.7:41641'] }, T0);
    await poll();
    for (const f of followers) {
      expect(f.messages).toHaveLength(2);
      const delta = JSON.parse(f.messages[1]!);
      expect(Object.keys(delta).sort()).toEqual(['peersChanged', 'seq', 'type']);
      expect(delta.peersChanged.map((p: { id: string }) => p.id)).toEqual([w.pc.id]);
      expect(f.map!.peers.find((p) => p.id === w.pc.id)!.endpoints).toEqual(['192.0.2.7:41641']);
    }
    expect(nas.messages).toHaveLength(1); // another network hears nothing
  });

  it('a home relay change reaches the streams that see the device as its one changed entry', async () => {
    const w = await world();
    const dave = await w.store.createUser({ name: 'dave', networkId: w.home.id }, T0);
    const tv = await w.store.registerDevice({ ...identity('tv'), userId: dave.id }, T0);
    // alice's devices and bob's pc see each other; dave's tv sees no one, nor does carol's nas.
    await w.store.setPolicy(
      w.home.id,
      '{"acls": [{"action": "accept", "src": ["alice"], "dst": ["bob:22"]}]}',
      T0,
    );
    const { poll, follow } = await feed(w.store);
    const [laptop, phone, pc, tvStream, nas] = await mapEach([w.laptop, w.phone, w.pc, tv, w.nas], (d) =>
      follow(d.id),
    );
    expect(laptop!.map!.peers.find((p) => p.id === w.pc.id)!.homeRelay).toBeNull();

    await w.store.setDeviceStatus(w.pc.id, { homeRelay: 901 }, T0);
    await poll();
    for (const f of [laptop!, phone!]) {
      expect(f.messages).toHaveLength(2);
      const delta = JSON.parse(f.messages[1]!);
      expect(Object.keys(delta).sort()).toEqual(['peersChanged', 'seq', 'type']);
      expect(delta.peersChanged).toEqual([expect.objectContaining({ id: w.pc.id, homeRelay: 901 })]);
      expect(canonicalNetmap(f.map!)).toEqual(await fresh(w.store, f.map!.self.id));
    }
    expect(JSON.parse(pc!.messages[1]!).self.homeRelay).toBe(901); // the device hears its own entry
    expect(tvStream!.messages).toHaveLength(1);
    expect(nas!.messages).toHaveLength(1);

    // The same region again is no change; none is.
    await w.store.setDeviceStatus(w.pc.id, { homeRelay: 901 }, T0);
    await poll();
    expect(laptop!.messages).toHaveLength(2);
    await w.store.setDeviceStatus(w.pc.id, { homeRelay: null }, T0);
    await poll();
    expect(JSON.parse(laptop!.messages[2]!).peersChanged[0].homeRelay).toBeNull();
  });

  it('a device joining a large network costs each peer its entry and a filter patch, not a new filter', async () => {
    const w = await world();
    for (let i = 0; i < 300; i++)
      await w.store.registerDevice({ ...identity(`d${i}`), userId: w.bob.id }, T0);
    const { poll, follow } = await feed(w.store);
    const laptop = await follow(w.laptop.id);
    const fullSize = laptop.messages[0]!.length;
    const joined = await w.store.registerDevice({ ...identity('new'), userId: w.alice.id }, T0);
    await poll();
    const delta = JSON.parse(laptop.messages[1]!);
    expect(delta.peersAdded.map((p: { id: string }) => p.id)).toEqual([joined.id]);
    expect(delta.filter).toBeUndefined();
    expect(delta.filterPatch).toHaveLength(1);
    expect(laptop.messages[1]!.length).toBeLessThan(fullSize / 50);
    expect(admitted(laptop.map!, joined.ipv4)).toBe(true);
    await w.store.deleteDevice(joined.id, T0);
    await poll();
    expect(JSON.parse(laptop.messages[2]!).peersRemoved).toEqual([joined.id]);
    expect(admitted(laptop.map!, joined.ipv4)).toBe(false);
  });

  it('a node key that expires leaves every map and ends its own stream; re-authenticating brings it back', async () => {
    const w = await world();
    let now = T0;
    await w.store.reauthenticateDevice(w.pc.id, now, now + DAY);
    const { poll, follow } = await feed(w.store, () => now);
    const laptop = await follow(w.laptop.id);
    const pc = await follow(w.pc.id);
    expect(names(laptop.map!)).toContain('pc');
    now += DAY;
    await poll();
    expect(names(laptop.map!)).not.toContain('pc');
    expect(pc.closed).toMatch(/expired/);
    await w.store.reauthenticateDevice(w.pc.id, now);
    await poll();
    expect(names(laptop.map!)).toContain('pc');
  });

  it("a network's DNS settings are in its full maps, and a change reaches its streams as one dns delta", async () => {
    const w = await world();
    const e = await MapEngine.open(
      w.store,
      () => T0,
      () => [],
      'lan.example',
    );
    const ula = w.home.ula.replace(/::\/48$/, '');
    expect(e.netmap(w.laptop.id).dns).toEqual({
      baseDomain: 'lan.example',
      resolver: { ipv4: '100.100.100.100', ipv6: `${ula}::53` },
      nameservers: [],
      routes: [],
      searchDomains: ['home.lan.example'],
      override: false,
    });
    const { poll, follow } = await feed(w.store);
    const laptop = await follow(w.laptop.id);
    const nas = await follow(w.nas.id); // carol's network
    const [lm, nm] = [laptop.messages.length, nas.messages.length];
    const routes = [{ domain: 'corp.example', servers: ['10.1.0.53'] }];
    await w.store.setDnsSettings(
      w.home.id,
      {
        nameservers: ['10.1.0.53'],
        routes,
        searchDomains: ['corp.example', 'home.burrow.internal'],
        override: true,
      },
      T0,
    );
    await poll();
    const delta = JSON.parse(laptop.messages.at(-1)!);
    expect(laptop.messages).toHaveLength(lm + 1);
    expect(Object.keys(delta)).toEqual(['type', 'seq', 'dns']);
    expect(delta.dns).toEqual({
      baseDomain: 'burrow.internal',
      resolver: { ipv4: '100.100.100.100', ipv6: `${ula}::53` },
      nameservers: ['10.1.0.53'],
      routes,
      searchDomains: ['home.burrow.internal', 'corp.example'],
      override: true,
    });
    expect(nas.messages).toHaveLength(nm); // another network's devices hear nothing
    expect(canonicalNetmap(laptop.map!)).toEqual(await fresh(w.store, w.laptop.id));
    expect(laptop.map!.dns).toEqual(delta.dns);
  });

  it('a deleted device loses its stream; a policy change reaches every stream of its network', async () => {
    const w = await world();
    const { poll, follow } = await feed(w.store);
    const laptop = await follow(w.laptop.id);
    const pc = await follow(w.pc.id);
    await w.store.setPolicy(
      w.home.id,
      '{"acls": [{"action": "accept", "src": ["alice"], "dst": ["alice:*"]}]}',
      T0,
    );
    await poll();
    expect(names(laptop.map!)).toEqual(['phone']);
    expect(names(pc.map!)).toEqual([]);
    await w.store.deleteDevice(w.pc.id, T0);
    await poll();
    expect(pc.closed).toBe('device deleted');
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7])(
    'maps kept by deltas equal freshly built ones through random changes (property, seed %i)',
    async (round) => {
      {
        const rng = new Rng(1000 + round);
        const w = await world();
        const users = [
          w.alice,
          w.bob,
          w.carol,
          await w.store.createUser({ name: 'dave', networkId: w.home.id }, T0),
        ];
        const devices = [w.laptop, w.phone, w.pc, w.nas].map((d) => d.id);
        const exists = async (id: string) => {
          try {
            return (await w.store.getDevice(id)) !== undefined;
          } catch {
            return false;
          }
        };
        const existing = async (ids: string[]) => {
          const out: string[] = [];
          for (const id of ids) if (await exists(id)) out.push(id);
          return out;
        };
        const { poll, follow } = await feed(w.store);
        const followers = new Map(await mapEach(devices, async (id) => [id, await follow(id)] as const));
        const policies = [
          null,
          '{"acls": [{"action": "accept", "src": ["alice", "dave"], "dst": ["bob:22", "alice:*"]}]}',
          '{"tagOwners": {"tag:srv": ["alice"]}, "acls": [{"action": "accept", "src": ["autogroup:member", "autogroup:shared"], "dst": ["tag:srv:80"]}, {"action": "accept", "src": ["tag:srv"], "dst": ["bob:*"]}]}',
          '{"groups": {"group:x": ["bob", "dave"]}, "acls": [{"action": "accept", "src": ["group:x"], "dst": ["autogroup:member:443"]}, {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]}]}',
        ];
        for (let step = 0; step < 40; step++) {
          const live = await existing(devices);
          const pick = () => rng.pick(live);
          switch (rng.int(10)) {
            case 0: {
              const user = rng.pick(users);
              const d = await w.store.registerDevice({ ...identity(`n${step}`), userId: user.id }, T0);
              devices.push(d.id);
              if (rng.int(2) === 0) followers.set(d.id, await follow(d.id));
              break;
            }
            case 1:
              if (live.length > 2) await w.store.deleteDevice(pick(), T0);
              break;
            case 2:
              await w.store.setDeviceStatus(
                pick(),
                { endpoints: [`192.0.2.${rng.int(250)}:1`], online: true },
                T0,
              );
              break;
            case 3: {
              const policy = rng.pick(policies);
              if (policy !== null) await w.store.setPolicy(w.home.id, policy, T0);
              break;
            }
            case 4: {
              const id = pick();
              const owner = (await w.store.getDevice(id)).userId;
              const ownerNetwork = (await w.store.getUser(owner)).networkId;
              const to = rng.pick(users.filter((u) => u.id !== owner && u.networkId !== ownerNetwork));
              if (to) {
                const { code } = await w.store.createInvite(
                  { deviceId: id, byUserId: owner, recipientUserId: to.id },
                  T0,
                );
                await w.store.acceptInvite({ code }, to.id, T0);
              }
              break;
            }
            case 5: {
              const id = pick();
              const share = (await w.store.sharesOfDevice(id))[0];
              if (share) await w.store.revokeShare(share.id, share.ownerUserId, T0);
              break;
            }
            case 6: {
              const id = pick();
              await w.store.setAdvertisedRoutes(id, { routes: ['10.9.0.0/16'], exitNode: true }, T0);
              await w.store.approveRoutes(id, { routes: ['10.9.0.0/16'], exitNode: rng.int(2) === 0 }, T0);
              break;
            }
            case 7:
              await w.store.renameDevice(pick(), `r${step}`, T0);
              break;
            case 8:
              await w.store.setDeviceStatus(pick(), { homeRelay: rng.pick([null, 1, 901, 65535]) }, T0);
              break;
            case 9:
              await w.store.setDnsSettings(
                rng.pick([w.home.id, w.carol.networkId]),
                {
                  nameservers: [`10.0.0.${rng.int(250) + 1}`],
                  routes:
                    rng.int(2) === 0 ? [] : [{ domain: `d${rng.int(3)}.example`, servers: ['10.0.0.53'] }],
                  searchDomains: [],
                  override: rng.int(2) === 0,
                },
                T0,
              );
              break;
          }
          if (rng.int(3) === 0) await poll();
          if (step % 10 === 9) {
            await poll();
            for (const [id, f] of followers) {
              if (!(await exists(id))) continue;
              expect(canonicalNetmap(f.map!), `round ${round} step ${step} device ${id}`).toEqual(
                await fresh(w.store, id),
              );
            }
          }
        }
      }
    },
  );
});
