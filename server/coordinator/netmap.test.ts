import { describe, expect, it } from 'vitest';
import { netmap as netmapSchema } from '../../src/control/messages.js';
import { identity, T0, useTempStore } from '../store/testing.js';
import { NetmapBuilder } from './netmap.js';

const t = useTempStore();

function world() {
  const { store } = t;
  const home = store.createNetwork({ name: 'home' }, T0);
  const alice = store.createUser({ name: 'alice', networkId: home.id }, T0);
  const bob = store.createUser({ name: 'bob', networkId: home.id }, T0);
  const carol = store.createUser({ name: 'carol' }, T0);
  const dev = (userId: string, name: string) => store.registerDevice({ ...identity(name), userId }, T0);
  return {
    store,
    home,
    alice,
    bob,
    carol,
    laptop: dev(alice.id, 'laptop'),
    phone: dev(alice.id, 'phone'),
    pc: dev(bob.id, 'pc'),
    nas: dev(carol.id, 'nas'),
  };
}

const names = (m: { peers: { name: string }[] }) => m.peers.map((p) => p.name).sort();
const admitted = (m: { filter: { srcIps: string[] }[] }, ip: string) =>
  m.filter.some((r) => r.srcIps.includes(`${ip}/32`));

describe('netmaps', () => {
  it('without a policy, a network sees itself and nothing of other networks', () => {
    const w = world();
    const b = new NetmapBuilder(w.store);
    const m = b.build(w.laptop.id);
    expect(netmapSchema.parse(m)).toEqual(m); // what the server sends is what the protocol accepts
    expect(m.self.name).toBe('laptop');
    expect(names(m)).toEqual(['pc', 'phone']);
    expect(admitted(m, w.pc.ipv4)).toBe(true);
    expect(admitted(m, w.nas.ipv4)).toBe(false);
    expect(names(b.build(w.nas.id))).toEqual([]);
    expect(m.dns.map((d) => d.name).sort()).toEqual(['laptop', 'pc', 'phone']);
  });

  it('with a policy, peers are those either side may reach, and filters hold only what reaches the device', () => {
    const w = world();
    w.store.setPolicy(w.home.id, '{"acls": [{"action": "accept", "src": ["alice"], "dst": ["bob:22"]}]}', T0);
    const b = new NetmapBuilder(w.store);
    const laptop = b.build(w.laptop.id);
    const pc = b.build(w.pc.id);
    expect(names(laptop)).toEqual(['pc']); // alice's own devices may not reach each other
    expect(names(pc)).toEqual(['laptop', 'phone']);
    expect(admitted(laptop, w.pc.ipv4)).toBe(false); // bob may not start connections to alice
    expect(pc.filter.some((r) => r.dstPorts.some((p) => p.ports.first === 22 && p.ports.last === 22))).toBe(
      true,
    );
  });

  it('a shared device is seen only by the recipient user, quarantined, and sees them back', () => {
    const w = world();
    const { code } = w.store.createInvite(
      { deviceId: w.nas.id, byUserId: w.carol.id, recipientUserId: w.alice.id },
      T0,
    );
    w.store.acceptInvite({ code }, w.alice.id, T0);
    const b = new NetmapBuilder(w.store);
    const laptop = b.build(w.laptop.id);
    const nasPeer = laptop.peers.find((p) => p.name === 'nas')!;
    expect(nasPeer.shared).toBe(true);
    expect(admitted(laptop, w.nas.ipv4)).toBe(false); // it may never start a connection to alice
    expect(laptop.dns.map((d) => d.name)).toContain('nas.carol');
    expect(names(b.build(w.pc.id))).not.toContain('nas'); // bob is in the network, not the share
    const nas = b.build(w.nas.id);
    expect(names(nas)).toEqual(['laptop', 'phone']);
    expect(admitted(nas, w.laptop.ipv4)).toBe(true);
    expect(admitted(nas, w.pc.ipv4)).toBe(false);
  });

  it('routes and exit nodes appear only when advertised and approved', () => {
    const w = world();
    w.store.setAdvertisedRoutes(w.pc.id, { routes: ['10.1.0.0/16'], exitNode: true }, T0);
    const b = new NetmapBuilder(w.store);
    let pc = b.build(w.laptop.id).peers.find((p) => p.name === 'pc')!;
    expect(pc.routes).toEqual([]);
    expect(pc.exitNodeOption).toBe(false);
    w.store.approveRoutes(w.pc.id, { routes: ['10.1.0.0/16'], exitNode: true }, T0);
    b.invalidate(w.home.id);
    pc = b.build(w.laptop.id).peers.find((p) => p.name === 'pc')!;
    expect(pc.routes).toEqual(['10.1.0.0/16']);
    expect(pc.exitNodeOption).toBe(true);
  });
});
