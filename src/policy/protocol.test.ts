import { describe, expect, it } from 'vitest';
import { hasPorts, parseProtocol, portsAdmit, protocolName } from './protocol.js';

describe('protocols', () => {
  it('reads names and numbers', () => {
    expect(parseProtocol('tcp')).toEqual([6]);
    expect(parseProtocol('icmp')).toEqual([1, 58]);
    expect(parseProtocol('ipv6-icmp')).toEqual([58]);
    expect(parseProtocol('47')).toEqual([47]);
    expect(() => parseProtocol('256')).toThrow('protocol "256" is not known');
    expect(() => parseProtocol('TCP')).toThrow('protocol "TCP" is not known');
    expect(() => parseProtocol('constructor')).toThrow('is not known');
    expect([6, 17, 1, 58, 47].map(protocolName)).toEqual(['tcp', 'udp', 'icmp', 'ipv6-icmp', 'gre']);
  });

  it('applies ports to TCP, UDP and SCTP; ICMP ignores them; other protocols need all ports', () => {
    expect([6, 17, 132, 1, 47].map(hasPorts)).toEqual([true, true, true, false, false]);
    expect(portsAdmit(6, 22, 22, 22)).toBe(true);
    expect(portsAdmit(17, 23, 22, 22)).toBe(false);
    expect(portsAdmit(1, 0, 22, 22)).toBe(true);
    expect(portsAdmit(58, 0, 443, 443)).toBe(true);
    expect(portsAdmit(47, 0, 22, 22)).toBe(false);
    expect(portsAdmit(47, 0, 0, 65535)).toBe(true);
  });
});
