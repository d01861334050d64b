import { describe, expect, it } from 'vitest';
import { hasTag, isUserDevice, type PolicyContext, type PolicyDevice, readContext } from './model.js';

function device(id: string, more: Partial<PolicyDevice> = {}): PolicyDevice {
  return { id, user: 'alice@example.com', network: 'net', tags: [], ips: [], shared: false, ...more };
}

const context = (...devices: PolicyDevice[]): PolicyContext => ({
  network: 'net',
  members: ['alice@example.com'],
  devices,
});

describe('identities', () => {
  const ctx = context();
  it.each<[string, PolicyDevice, boolean]>([
    ["a member's untagged device", device('a'), true],
    ['a tagged device', device('a', { tags: ['tag:db'] }), false],
    ['a device shared in', device('a', { shared: true, network: 'other' }), false],
    ["a former member's device", device('a', { user: 'eve@example.com' }), false],
  ])('%s is a user device: %s', (_, d, expected) => {
    expect(isUserDevice(ctx, d)).toBe(expected);
  });

  it('tags select only the network’s own devices', () => {
    expect(hasTag(device('a', { tags: ['tag:db'] }), 'tag:db')).toBe(true);
    expect(hasTag(device('a', { tags: ['tag:db'], shared: true, network: 'other' }), 'tag:db')).toBe(false);
    expect(hasTag(device('a', { tags: ['tag:web'] }), 'tag:db')).toBe(false);
  });
});

describe('readContext', () => {
  it('parses addresses and routes, with canonical texts', () => {
    const [read] = readContext(
      context(device('a', { ips: ['100.64.0.1', 'FD7A::1'], routes: ['10.0.0.0/8'] })),
    );
    expect(read!.ipTexts).toEqual(['100.64.0.1/32', 'fd7a::1/128']);
    expect(read!.routes.map((r) => r.bits)).toEqual([8]);
  });

  it.each<[string, PolicyDevice[], string]>([
    ['two devices with one id', [device('a'), device('a')], 'two devices have the id "a"'],
    [
      'one address held twice, however written',
      [device('a', { ips: ['fd7a::1'] }), device('b', { ips: ['fd7a:0::1'] })],
      'device "b" and device "a" both have address fd7a:0::1',
    ],
    [
      'a foreign device not marked shared',
      [device('a', { network: 'other' })],
      'device "a" is in network "other" but not shared into "net"',
    ],
    [
      'an own device marked shared',
      [device('a', { shared: true })],
      'device "a" is in network "net" but shared into "net"',
    ],
    [
      'a bad address',
      [device('a', { ips: ['100.64.0.1/32'] })],
      'device "a": "100.64.0.1/32" is not a single IP address',
    ],
    ['a bad route', [device('a', { routes: ['10.0.0.1/8'] })], 'device "a": "10.0.0.1/8" has host bits set'],
  ])('refuses %s', (_, devices, message) => {
    expect(() => readContext(context(...devices))).toThrow(message);
  });
});
