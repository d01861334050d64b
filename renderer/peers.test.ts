import { describe, expect, it } from 'vitest';
import { exitNodeChoices, myDevices, networkOf, searchPeers, sortPeers } from './peers.js';
import { PEERS, peer, STATUS } from './test-support/fixtures.js';

const names = (peers: { shortName: string }[]) => peers.map((p) => p.shortName);

describe('searchPeers', () => {
  it('matches name, full name, user and address, in any case', () => {
    expect(names(searchPeers(PEERS, 'GATE'))).toEqual(['gateway']);
    expect(names(searchPeers(PEERS, 'bob'))).toEqual(['nas']);
    expect(names(searchPeers(PEERS, '100.64.0.4'))).toEqual(['oldbox']);
    expect(names(searchPeers(PEERS, 'fd7a:115c'))).toEqual(['desk']);
    expect(names(searchPeers(PEERS, 'desk.home.burrow'))).toEqual(['desk']);
  });

  it("finds a shared device by its suffixed short name and by its full name in its owner's network", () => {
    expect(names(searchPeers(PEERS, 'desk'))).toEqual(['desk', 'desk-carol']);
    expect(names(searchPeers(PEERS, 'Desk-Carol'))).toEqual(['desk-carol']);
    expect(names(searchPeers(PEERS, 'desk.carol.burrow.internal'))).toEqual(['desk-carol']);
    expect(names(searchPeers(PEERS, '.carol.'))).toEqual(['desk-carol']);
  });

  it('keeps everyone for an empty or blank query, and no one for a miss', () => {
    expect(searchPeers(PEERS, '  ')).toHaveLength(PEERS.length);
    expect(searchPeers(PEERS, 'nothing-like-this')).toEqual([]);
  });
});

describe('sortPeers', () => {
  it('puts online peers first, each group by short name, without touching the input', () => {
    const input = [peer({ id: 'z', hostName: 'zed' }), ...PEERS];
    expect(names(sortPeers(input))).toEqual(['desk', 'desk-carol', 'gateway', 'nas', 'zed', 'oldbox']);
    expect(input[0]!.hostName).toBe('zed');
  });
});

describe('networkOf', () => {
  it("is the network label of a full name: for a shared device, its owner's network", () => {
    expect(networkOf('desk.carol.burrow.internal')).toBe('carol');
    expect(networkOf('nas.bob.example.internal')).toBe('bob');
  });
});

describe('myDevices', () => {
  it('is this device and my own peers, not ones shared with me or owned by others', () => {
    const withOthers = {
      ...STATUS,
      peers: [...PEERS, peer({ id: 'n-carol', hostName: 'carolpc', user: 'carol' })],
    };
    expect(myDevices(withOthers)).toEqual([
      { id: 'n-laptop', hostName: 'laptop', isSelf: true },
      { id: 'n-desk', hostName: 'desk', isSelf: false },
      { id: 'n-gw', hostName: 'gateway', isSelf: false },
      { id: 'n-old', hostName: 'oldbox', isSelf: false },
    ]);
  });

  it('is empty before sign-in', () => {
    expect(myDevices(null)).toEqual([]);
    expect(myDevices({ ...STATUS, self: null })).toEqual([]);
  });
});

describe('exitNodeChoices', () => {
  it('offers exit-node peers by name, offline ones disabled, the selected one marked', () => {
    expect(exitNodeChoices(PEERS, 'n-old')).toEqual([
      { id: 'n-gw', name: 'gateway', online: true, selected: false, disabled: false },
      { id: 'n-old', name: 'oldbox', online: false, selected: true, disabled: true },
    ]);
    expect(exitNodeChoices(PEERS, null).some((c) => c.selected)).toBe(false);
  });

  it('names an exit node by its short name, as the Devices screen does', () => {
    const shared = peer({ id: 'n-x', hostName: 'gateway', shortName: 'gateway-bob', exitNodeOption: true });
    expect(exitNodeChoices([...PEERS, shared], null).map((c) => c.name)).toEqual([
      'gateway',
      'gateway-bob',
      'oldbox',
    ]);
  });
});
