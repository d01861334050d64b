import { describe, expect, it } from 'vitest';
import { exitNodeChoices, myDevices, searchPeers, sortPeers } from './peers.js';
import { PEERS, peer, STATUS } from './test-support/fixtures.js';

const names = (peers: { hostName: string }[]) => peers.map((p) => p.hostName);

describe('searchPeers', () => {
  it('matches name, DNS name, user and address, in any case', () => {
    expect(names(searchPeers(PEERS, 'GATE'))).toEqual(['gateway']);
    expect(names(searchPeers(PEERS, 'bob'))).toEqual(['nas']);
    expect(names(searchPeers(PEERS, '100.64.0.4'))).toEqual(['oldbox']);
    expect(names(searchPeers(PEERS, 'fd7a:115c'))).toEqual(['desk']);
    expect(names(searchPeers(PEERS, 'desk.alice.burrow'))).toEqual(['desk']);
  });

  it('keeps everyone for an empty or blank query, and no one for a miss', () => {
    expect(searchPeers(PEERS, '  ')).toHaveLength(PEERS.length);
    expect(searchPeers(PEERS, 'nothing-like-this')).toEqual([]);
  });
});

describe('sortPeers', () => {
  it('puts online peers first, each group by name, without touching the input', () => {
    const input = [peer({ id: 'z', hostName: 'zed' }), ...PEERS];
    expect(names(sortPeers(input))).toEqual(['desk', 'gateway', 'nas', 'zed', 'oldbox']);
    expect(input[0]!.hostName).toBe('zed');
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
      { id: 'n-gw', hostName: 'gateway', online: true, selected: false, disabled: false },
      { id: 'n-old', hostName: 'oldbox', online: false, selected: true, disabled: true },
    ]);
    expect(exitNodeChoices(PEERS, null).some((c) => c.selected)).toBe(false);
  });
});
