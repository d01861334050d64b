import { describe, expect, it } from 'vitest';
import { encodeKey } from '../../src/wireguard/keys.js';
import { formatWgConfig } from './format.js';
import { parseWgConfig } from './parse.js';

const key = (fill: number) => encodeKey(new Uint8Array(32).fill(fill));

describe('formatWgConfig', () => {
  it('prints a config in the usual layout', () => {
    const text = [
      '[Interface]',
      `PrivateKey = ${key(1)}`,
      'ListenPort = 0',
      'Address = 10.0.0.7/24, fd00::7/64',
      'MTU = 1280',
      'DNS = 10.0.0.53, corp.example',
      'Table = 1234',
      'FwMark = 51820',
      'SaveConfig = true',
      'PreUp = echo up %i > /tmp/log',
      'PostUp = iptables -A FORWARD -i %i -j ACCEPT',
      'PostUp = ip rule add table 7',
      'PreDown = true',
      'PostDown = iptables -D FORWARD -i %i -j ACCEPT',
      '',
      '[Peer]',
      `PublicKey = ${key(2)}`,
      `PresharedKey = ${key(3)}`,
      'AllowedIPs = 0.0.0.0/0, ::/0',
      'Endpoint = [2001:db8::1]:51820',
      'PersistentKeepalive = 25',
      '',
    ].join('\n');
    expect(formatWgConfig(parseWgConfig(text))).toBe(text);
  });

  // Each input is awkward in some way; printing and reading back must give the same config, and
  // printing that again the same text.
  const tricky: [string, string][] = [
    [
      'case, spacing, comments and CRLF',
      `[INTERFACE]\r\n  privatekey=${key(1)}#c\r\n\tLISTENPORT   =   7 \r\n[pEeR]\r\npublickey = ${key(2)}\r\n`,
    ],
    [
      'keys repeated and split',
      `[Interface]\nPrivateKey=${key(1)}\nAddress=10.0.0.1/32 10.0.0.2/32\nAddress=fd00::1\n`,
    ],
    [
      'host bits kept in Address and AllowedIPs',
      `[Interface]\nPrivateKey=${key(1)}\nAddress=10.1.2.3/8\n[Peer]\nPublicKey=${key(2)}\nAllowedIPs=10.9.9.9/16\n`,
    ],
    [
      'an IPv4-mapped and embedded-IPv4 address',
      `[Interface]\nPrivateKey=${key(1)}\n[Peer]\nPublicKey=${key(2)}\nAllowedIPs=::ffff:10.0.0.1/128, 64:ff9b::192.0.2.1/128\n`,
    ],
    [
      'an endpoint with a zone',
      `[Interface]\nPrivateKey=${key(1)}\n[Peer]\nPublicKey=${key(2)}\nEndpoint=[FE80::1%eth0]:51820\n`,
    ],
    [
      'keepalive and fwmark off',
      `[Interface]\nPrivateKey=${key(1)}\nFwMark=off\n[Peer]\nPublicKey=${key(2)}\nPersistentKeepalive=off\n`,
    ],
    [
      'an empty list',
      `[Interface]\nPrivateKey=${key(1)}\nAddress=\n[Peer]\nPublicKey=${key(2)}\nAllowedIPs=\n`,
    ],
    ['hex fwmark and a named table', `[Interface]\nPrivateKey=${key(1)}\nFwMark=0xCA6C\nTable=Main\n`],
    [
      'many peers',
      `[Interface]\nPrivateKey=${key(1)}\n${[2, 3, 4, 5].map((n) => `[Peer]\nPublicKey=${key(n)}\nAllowedIPs=10.0.0.${n}\n`).join('')}`,
    ],
  ];

  it.each(tricky)('round-trips %s', (_, text) => {
    const config = parseWgConfig(text);
    const printed = formatWgConfig(config);
    expect(parseWgConfig(printed)).toEqual(config);
    expect(formatWgConfig(parseWgConfig(printed))).toBe(printed);
  });

  it('prints a canonical endpoint and fwmark', () => {
    const printed = formatWgConfig(parseWgConfig(tricky[7]![1]));
    expect(printed).toContain('FwMark = 51820');
    const zone = formatWgConfig(parseWgConfig(tricky[4]![1]));
    expect(zone).toContain('Endpoint = [fe80::1%eth0]:51820');
  });
});
