import { describe, expect, it } from 'vitest';
import { formatAddr } from '../../src/packet/ip-text.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import { parseWgConfig } from './parse.js';
import { WgConfigError } from './types.js';

const key = (fill: number) => encodeKey(new Uint8Array(32).fill(fill));
const K1 = key(1);
const K2 = key(2);
const K3 = key(3);
const K4 = key(4);

const parse = (lines: string[]) => parseWgConfig(lines.join('\n'), 'wg0.conf');

describe('parseWgConfig: wg-quick’s hooks and SaveConfig', () => {
  it('keeps each hook as written, in order, repeated keys adding to the list', () => {
    const { interface: iface } = parse([
      '[Interface]',
      `PrivateKey = ${K1}`,
      'PreUp = echo "pre up" %i > /tmp/log',
      'PostUp = iptables -A FORWARD -i %i -j ACCEPT; ip rule add table 7',
      'postup = echo = two # a comment, as wg-quick strips it',
      'PreDown = true',
      'PostDown = ',
      'SaveConfig = True',
    ]);
    expect(iface.preUp).toEqual(['echo "pre up" %i > /tmp/log']);
    expect(iface.postUp).toEqual(['iptables -A FORWARD -i %i -j ACCEPT; ip rule add table 7', 'echo = two']);
    expect(iface.preDown).toEqual(['true']);
    expect(iface.postDown).toBeUndefined();
    expect(iface.saveConfig).toBe(true);
  });
});

describe('parseWgConfig: a complete file', () => {
  const config = parse([
    '# wg0: every key burrowd reads', // 1
    '[Interface]',
    `PrivateKey = ${K1}`,
    'ListenPort = 51820',
    'Address = 10.0.0.1/24, fd00::1/64', // 5
    'Address = 10.0.1.1/24',
    'MTU = 1380',
    'DNS = 10.0.0.53, fd00::53 corp.example',
    'Table = off',
    'FwMark = 0x1234', // 10
    'SaveConfig = false',
    '',
    '[Peer]',
    `PublicKey = ${K2}`,
    `PresharedKey = ${K3}`, // 15
    'AllowedIPs = 10.0.0.2/32, fd00::2/128',
    'AllowedIPs = 192.168.0.0/16',
    'Endpoint = [2001:DB8::1]:51820',
    'PersistentKeepalive = 25',
    '', // 20
    '[peer]',
    `  publickey=${K4}   # keys are case-insensitive, comments may follow a value`,
    'allowedips = 10.0.0.3',
    'ENDPOINT = vpn.example.com:51821',
    'persistentkeepalive = off', // 25
  ]);

  it('reads the interface', () => {
    const { interface: iface } = config;
    expect(encodeKey(iface.privateKey)).toBe(K1);
    expect(iface.listenPort).toBe(51820);
    expect(iface.addresses.map((a) => [formatAddr(a.addr), a.cidr, a.family, a.text])).toEqual([
      ['10.0.0.1', 24, 4, '10.0.0.1/24'],
      ['fd00::1', 64, 6, 'fd00::1/64'],
      ['10.0.1.1', 24, 4, '10.0.1.1/24'],
    ]);
    expect(iface.mtu).toBe(1380);
    expect(iface.dns).toEqual(['10.0.0.53', 'fd00::53', 'corp.example']);
    expect(iface.table).toBe('off');
    expect(iface.fwMark).toBe(0x1234);
  });

  it('reads the peers in order', () => {
    const [a, b] = config.peers;
    expect(config.peers).toHaveLength(2);
    expect(encodeKey(a!.publicKey)).toBe(K2);
    expect(encodeKey(a!.presharedKey!)).toBe(K3);
    expect(a!.allowedIps.map((c) => c.text)).toEqual(['10.0.0.2/32', 'fd00::2/128', '192.168.0.0/16']);
    expect(a!.endpoint).toEqual({ host: '2001:db8::1', port: 51820 });
    expect(a!.persistentKeepalive).toBe(25);
    expect(encodeKey(b!.publicKey)).toBe(K4);
    expect(b!.presharedKey).toBeUndefined();
    expect(b!.allowedIps.map((c) => [formatAddr(c.addr), c.cidr])).toEqual([['10.0.0.3', 32]]);
    expect(b!.endpoint).toEqual({ host: 'vpn.example.com', port: 51821 });
    expect(b!.persistentKeepalive).toBe(0);
  });

  it('leaves optional keys out rather than inventing defaults', () => {
    const minimal = parse(['[Interface]', `PrivateKey = ${K1}`]);
    expect(minimal).toEqual({
      interface: { privateKey: minimal.interface.privateKey, addresses: [], dns: [] },
      peers: [],
    });
  });

  it('accepts CRLF line endings and a byte-order mark', () => {
    const config = parseWgConfig(`\uFEFF[Interface]\r\nPrivateKey = ${K1}\r\nListenPort = 1\r\n`);
    expect(config.interface.listenPort).toBe(1);
  });
});

describe('parseWgConfig: errors name the file, line and key', () => {
  const iface = ['[Interface]', `PrivateKey = ${K1}`];
  const cases: [string, string[], string][] = [
    [
      'a short key',
      ['[Interface]', `PrivateKey = ${K1.slice(1)}`],
      'wg0.conf:2: PrivateKey: expected 44 base64 characters, got 43',
    ],
    [
      'a short public key',
      [...iface, 'ListenPort = 1', '', '# the peer', '[Peer]', `PublicKey = ${K2.slice(0, 43)}`],
      'wg0.conf:7: PublicKey: expected 44 base64 characters, got 43',
    ],
    [
      'a key that is not base64',
      ['[Interface]', `PrivateKey = ${'!'.repeat(43)}=`],
      'wg0.conf:2: PrivateKey: not a valid base64-encoded 32-byte key',
    ],
    ['no [Interface]', ['[Peer]', `PublicKey = ${K2}`], 'wg0.conf: no [Interface] section'],
    ['an empty file', [''], 'wg0.conf: no [Interface] section'],
    [
      'a key before any section',
      [`PrivateKey = ${K1}`, '[Interface]'],
      'wg0.conf:1: PrivateKey: appears before any [Interface] or [Peer] section',
    ],
    [
      'a second [Interface]',
      [...iface, '[Interface]'],
      'wg0.conf:3: [Interface]: a second [Interface] section (the first is at line 1)',
    ],
    [
      'an unknown section',
      [...iface, '[Peers]'],
      'wg0.conf:3: [Peers]: unknown section (expected [Interface] or [Peer])',
    ],
    [
      'a line without "="',
      [...iface, 'ListenPort 51820'],
      'wg0.conf:3: expected "Key = Value" or a [Section], got "ListenPort 51820"',
    ],
    ['a missing key', [...iface, '= 51820'], 'wg0.conf:3: missing key before "=" in "= 51820"'],
    ['an unknown key', [...iface, 'Foo = bar'], 'wg0.conf:3: Foo: unknown key in [Interface]'],
    [
      'a peer key in [Interface]',
      [...iface, 'Endpoint = 192.0.2.1:1'],
      'wg0.conf:3: Endpoint: unknown key in [Interface] (it belongs in [Peer])',
    ],
    [
      'an interface key in [Peer]',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'MTU = 1400'],
      'wg0.conf:5: MTU: unknown key in [Peer] (it belongs in [Interface])',
    ],
    [
      'a missing PrivateKey',
      ['', '[Interface]', 'ListenPort = 1'],
      'wg0.conf:2: PrivateKey: missing from [Interface]',
    ],
    [
      'a missing PublicKey',
      [...iface, '[Peer]', 'AllowedIPs = 10.0.0.2/32'],
      'wg0.conf:3: PublicKey: missing from this [Peer] section',
    ],
    [
      'a singular key twice',
      [...iface, 'ListenPort = 1', 'listenport = 2'],
      'wg0.conf:4: ListenPort: already set at line 3',
    ],
    [
      'a duplicate peer',
      [...iface, '[Peer]', `PublicKey = ${K2}`, '[Peer]', '', `PublicKey = ${K2}`],
      'wg0.conf:7: PublicKey: duplicate of the peer at line 3',
    ],
    ['an empty singular value', [...iface, 'ListenPort ='], 'wg0.conf:3: ListenPort: missing value'],
    [
      'a port out of range',
      [...iface, 'ListenPort = 65536'],
      'wg0.conf:3: ListenPort: 65536 is out of range (0-65535)',
    ],
    [
      'a port that is not a number',
      [...iface, 'ListenPort = http'],
      'wg0.conf:3: ListenPort: expected a decimal number, got "http"',
    ],
    [
      'a negative port',
      [...iface, 'ListenPort = -1'],
      'wg0.conf:3: ListenPort: expected a decimal number, got "-1"',
    ],
    ['an MTU too small', [...iface, 'MTU = 67'], 'wg0.conf:3: MTU: 67 is out of range (68-65535)'],
    [
      'an fwmark too large',
      [...iface, 'FwMark = 4294967296'],
      'wg0.conf:3: FwMark: 4294967296 is out of range (0-4294967295)',
    ],
    [
      'a bad table',
      [...iface, 'Table = 1x'],
      'wg0.conf:3: Table: expected off, auto, a table number or a table name, got "1x"',
    ],
    [
      'a bad DNS entry',
      [...iface, 'DNS = 10.0.0.300'],
      'wg0.conf:3: DNS: "10.0.0.300" is not an IP address or search domain',
    ],
    [
      'a bad Address',
      [...iface, 'Address = 10.0.0.1/24, 10.0.0/24'],
      'wg0.conf:3: Address: invalid CIDR "10.0.0/24": not an IPv4 or IPv6 address',
    ],
    [
      'a prefix too long',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'AllowedIPs = 10.0.0.0/8, 10.0.0.1/33'],
      'wg0.conf:5: AllowedIPs: invalid CIDR "10.0.0.1/33": prefix length 33 exceeds 32 for IPv4',
    ],
    [
      'an empty list item',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'AllowedIPs = 10.0.0.1/32,,10.0.0.2/32'],
      'wg0.conf:5: AllowedIPs: empty item in list "10.0.0.1/32,,10.0.0.2/32"',
    ],
    [
      'a prefix claimed by two peers',
      [
        ...iface,
        '[Peer]',
        `PublicKey = ${K2}`,
        'AllowedIPs = 10.0.0.0/24',
        '[Peer]',
        `PublicKey = ${K3}`,
        'AllowedIPs = 10.0.1.0/24',
        'AllowedIPs = 10.0.0.9/24',
      ],
      'wg0.conf:9: AllowedIPs: 10.0.0.9/24 is already routed to the peer at line 3 (as 10.0.0.0/24)',
    ],
    [
      'a prefix listed twice',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'AllowedIPs = fd00::/64, FD00::/64'],
      'wg0.conf:5: AllowedIPs: FD00::/64 is already routed to this peer (as fd00::/64)',
    ],
    [
      'a keepalive out of range',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'PersistentKeepalive = 65536'],
      'wg0.conf:5: PersistentKeepalive: 65536 is out of range (0-65535)',
    ],
    [
      'an endpoint without port',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'Endpoint = 192.0.2.1'],
      'wg0.conf:5: Endpoint: expected host:port, got "192.0.2.1"',
    ],
    [
      'an endpoint with port 0',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'Endpoint = 192.0.2.1:0'],
      'wg0.conf:5: Endpoint: port: 0 is out of range (1-65535)',
    ],
    [
      'an IPv6 endpoint without brackets',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'Endpoint = 2001:db8::1:51820'],
      'wg0.conf:5: Endpoint: an IPv6 address needs brackets, as in [2001:db8::1]:51820; got "2001:db8::1:51820"',
    ],
    [
      'a bracketed IPv4 endpoint',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'Endpoint = [192.0.2.1]:1'],
      'wg0.conf:5: Endpoint: "192.0.2.1" is not an IPv6 address',
    ],
    [
      'a bad host name',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'Endpoint = -vpn.example.com:1'],
      'wg0.conf:5: Endpoint: "-vpn.example.com" is not an IP address or host name',
    ],
    [
      'a bad IPv4 endpoint',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'Endpoint = 192.0.2:1'],
      'wg0.conf:5: Endpoint: "192.0.2" is not an IP address or host name',
    ],
    [
      'a hook in [Peer]',
      [...iface, '[Peer]', `PublicKey = ${K2}`, 'PostUp = true'],
      'wg0.conf:5: PostUp: unknown key in [Peer] (it belongs in [Interface])',
    ],
    [
      'SaveConfig twice',
      [...iface, 'SaveConfig = true', 'SaveConfig = false'],
      'wg0.conf:4: SaveConfig: already set at line 3',
    ],
    [
      'SaveConfig = maybe',
      [...iface, 'SaveConfig = maybe'],
      'wg0.conf:3: SaveConfig: expected true or false, got "maybe"',
    ],
  ];

  it.each(cases)('%s', (_, lines, message) => {
    let error: unknown;
    try {
      parse(lines);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WgConfigError);
    expect((error as Error).message).toBe(message);
  });

  it('exposes the parts of the message', () => {
    expect(() => parse([...iface, 'MTU = 1'])).toThrow(
      expect.objectContaining({
        source: 'wg0.conf',
        line: 3,
        key: 'MTU',
        reason: '1 is out of range (68-65535)',
      }),
    );
  });
});
