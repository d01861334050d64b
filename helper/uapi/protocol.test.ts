import { describe, expect, it } from 'vitest';
import { formatAddr, parseCidr } from '../../src/packet/ip-text.js';
import { endpointText } from '../../src/wireguard/actions.js';
import { EINVAL, EPROTO } from './errno.js';
import { formatGet, parseSet, type UapiError, type UapiSetRequest, type UapiState } from './protocol.js';

const hexOf = (fill: number) => fill.toString(16).padStart(2, '0').repeat(32);
const bytes = (fill: number) => new Uint8Array(32).fill(fill);
const prefix = (text: string) => {
  const { addr, cidr } = parseCidr(text);
  return { addr, cidr };
};

describe('formatGet', () => {
  it('writes what wireguard-go writes, in its order', () => {
    const state: UapiState = {
      privateKey: bytes(0xa1),
      listenPort: 51820,
      fwmark: 0xca6c,
      peers: [
        {
          publicKey: bytes(0xb2),
          presharedKey: bytes(0),
          endpoint: { host: '2001:db8::1', port: 51821 },
          lastHandshakeMs: 1_700_000_000_123.5,
          txBytes: 2_000_000_000_000,
          rxBytes: 148,
          persistentKeepaliveInterval: 25,
          allowedIps: [prefix('10.0.0.2/32'), prefix('fd00::/64')],
        },
        {
          publicKey: bytes(0xc3),
          presharedKey: bytes(0xd4),
          endpoint: null,
          lastHandshakeMs: 0,
          txBytes: 0,
          rxBytes: 0,
          persistentKeepaliveInterval: 0,
          allowedIps: [],
        },
      ],
    };
    expect(formatGet(state)).toBe(
      [
        `private_key=${hexOf(0xa1)}`,
        'listen_port=51820',
        'fwmark=51820',
        `public_key=${hexOf(0xb2)}`,
        `preshared_key=${hexOf(0)}`,
        'protocol_version=1',
        'endpoint=[2001:db8::1]:51821',
        'last_handshake_time_sec=1700000000',
        'last_handshake_time_nsec=123500000',
        'tx_bytes=2000000000000',
        'rx_bytes=148',
        'persistent_keepalive_interval=25',
        'allowed_ip=10.0.0.2/32',
        'allowed_ip=fd00::/64',
        `public_key=${hexOf(0xc3)}`,
        `preshared_key=${hexOf(0xd4)}`,
        'protocol_version=1',
        'last_handshake_time_sec=0',
        'last_handshake_time_nsec=0',
        'tx_bytes=0',
        'rx_bytes=0',
        'persistent_keepalive_interval=0',
        '',
      ].join('\n'),
    );
  });

  it('leaves out an unset private key, port 0 and fwmark 0', () => {
    expect(formatGet({ privateKey: null, listenPort: 0, fwmark: 0, peers: [] })).toBe('');
    expect(formatGet({ privateKey: bytes(0), listenPort: 0, fwmark: 0, peers: [] })).toBe('');
  });
});

/** The request as text again, one line per operation, to check that parseSet kept everything. */
function formatSet(request: UapiSetRequest): string {
  const lines = ['set=1'];
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  for (const op of request.device) {
    if (op.key === 'replace_peers') lines.push('replace_peers=true');
    else lines.push(`${op.key}=${op.key === 'private_key' ? hex(op.value) : op.value}`);
  }
  for (const peer of request.peers) {
    lines.push(`public_key=${hex(peer.publicKey)}`);
    for (const op of peer.ops) {
      switch (op.key) {
        case 'preshared_key':
          lines.push(`${op.key}=${hex(op.value)}`);
          break;
        case 'endpoint':
          lines.push(`${op.key}=${endpointText(op.value)}`);
          break;
        case 'persistent_keepalive_interval':
          lines.push(`${op.key}=${op.value}`);
          break;
        case 'allowed_ip':
          lines.push(`${op.key}=${formatAddr(op.value.addr)}/${op.value.cidr}`);
          break;
        case 'protocol_version':
          lines.push('protocol_version=1');
          break;
        default:
          lines.push(`${op.key}=true`);
      }
    }
  }
  return `${lines.join('\n')}\n\n`;
}

describe('parseSet', () => {
  const full = [
    'set=1',
    `private_key=${hexOf(0xa1)}`,
    'listen_port=51820',
    'fwmark=4294967295',
    'replace_peers=true',
    `public_key=${hexOf(0xb2)}`,
    'protocol_version=1',
    `preshared_key=${hexOf(0xd4)}`,
    'endpoint=192.0.2.1:51820',
    'persistent_keepalive_interval=65535',
    'replace_allowed_ips=true',
    'allowed_ip=10.0.0.0/8',
    'allowed_ip=::/0',
    `public_key=${hexOf(0xc3)}`,
    'update_only=true',
    'endpoint=[fe80::1%eth0]:1',
    `public_key=${hexOf(0xe5)}`,
    'remove=true',
    '',
    '',
  ].join('\n');

  it('reads every key into typed operations', () => {
    const request = parseSet(full) as UapiSetRequest;
    expect(request.device.map((op) => op.key)).toEqual([
      'private_key',
      'listen_port',
      'fwmark',
      'replace_peers',
    ]);
    expect(request.device[2]).toEqual({ key: 'fwmark', value: 0xffff_ffff });
    expect(request.peers.map((p) => p.ops.map((op) => op.key))).toEqual([
      [
        'protocol_version',
        'preshared_key',
        'endpoint',
        'persistent_keepalive_interval',
        'replace_allowed_ips',
        'allowed_ip',
        'allowed_ip',
      ],
      ['update_only', 'endpoint'],
      ['remove'],
    ]);
    expect(request.peers[0]!.ops[2]).toEqual({ key: 'endpoint', value: { host: '192.0.2.1', port: 51820 } });
    expect(request.peers[1]!.ops[1]).toEqual({ key: 'endpoint', value: { host: 'fe80::1%eth0', port: 1 } });
  });

  it('round-trips a request', () => {
    expect(formatSet(parseSet(full) as UapiSetRequest)).toBe(full);
  });

  it('takes uppercase hex and uncompressed IPv6, and keeps them canonical', () => {
    const request = parseSet(
      `set=1\npublic_key=${hexOf(0xab).toUpperCase()}\nendpoint=[2001:DB8:0:0:0:0:0:1]:7\nallowed_ip=::FFFF:10.0.0.1/128\n\n`,
    ) as UapiSetRequest;
    expect(formatSet(request)).toBe(
      `set=1\npublic_key=${hexOf(0xab)}\nendpoint=[2001:db8::1]:7\nallowed_ip=::ffff:10.0.0.1/128\n\n`,
    );
  });

  it('takes an all-zero private key, which means "no private key" (wg setconf of a peers-only file)', () => {
    expect(parseSet(`set=1\nprivate_key=${hexOf(0)}\n\n`)).toEqual({
      device: [{ key: 'private_key', value: new Uint8Array(32) }],
      peers: [],
    });
  });

  it('accepts an empty request', () => {
    expect(parseSet('set=1\n\n')).toEqual({ device: [], peers: [] });
  });

  const peer = `public_key=${hexOf(0xb2)}`;
  const cases: [string, string[], number, string][] = [
    ['no set=1', ['get=1', ''], EPROTO, 'line 1: expected "set=1"'],
    [
      'no empty line at the end',
      ['set=1', 'listen_port=1'],
      EPROTO,
      'the request does not end with an empty line',
    ],
    [
      'a line after the empty line',
      ['set=1', '', 'listen_port=1', ''],
      EPROTO,
      'line 2: an empty line ends the request, yet more follows',
    ],
    [
      'a line without "="',
      ['set=1', 'listen_port', ''],
      EPROTO,
      'line 2: expected key=value, got "listen_port"',
    ],
    ['an unknown key', ['set=1', 'listen-port=1', ''], EINVAL, 'line 2: listen-port: unknown key'],
    [
      'an unknown peer key',
      ['set=1', peer, 'allowed_ips=10.0.0.0/8', ''],
      EINVAL,
      'line 3: allowed_ips: unknown key',
    ],
    [
      'a peer key before public_key',
      ['set=1', 'endpoint=192.0.2.1:1', ''],
      EINVAL,
      'line 2: endpoint: peer keys must follow a public_key',
    ],
    [
      'an interface key after public_key',
      ['set=1', peer, 'listen_port=1', ''],
      EINVAL,
      'line 3: listen_port: interface keys must come before the first public_key',
    ],
    [
      'a short key',
      ['set=1', `private_key=${hexOf(1).slice(1)}`, ''],
      EINVAL,
      `line 2: private_key: expected 64 hex digits, got "${hexOf(1).slice(1)}"`,
    ],
    [
      'a non-hex key',
      ['set=1', `public_key=${'g'.repeat(64)}`, ''],
      EINVAL,
      `line 2: public_key: expected 64 hex digits, got "${'g'.repeat(64)}"`,
    ],
    [
      'a port out of range',
      ['set=1', 'listen_port=65536', ''],
      EINVAL,
      'line 2: listen_port: 65536 is out of range (0-65535)',
    ],
    [
      'a signed port',
      ['set=1', 'listen_port=+1', ''],
      EINVAL,
      'line 2: listen_port: expected a decimal number, got "+1"',
    ],
    [
      'an fwmark out of range',
      ['set=1', 'fwmark=4294967296', ''],
      EINVAL,
      'line 2: fwmark: 4294967296 is out of range (0-4294967295)',
    ],
    [
      'replace_peers=false',
      ['set=1', 'replace_peers=false', ''],
      EINVAL,
      'line 2: replace_peers: the only valid value is "true", got "false"',
    ],
    [
      'remove=1',
      ['set=1', peer, 'remove=1', ''],
      EINVAL,
      'line 3: remove: the only valid value is "true", got "1"',
    ],
    [
      'a host name endpoint',
      ['set=1', peer, 'endpoint=vpn.example.com:1', ''],
      EINVAL,
      'line 3: endpoint: "vpn.example.com" is not an IP address',
    ],
    [
      'an endpoint without port',
      ['set=1', peer, 'endpoint=[::1]', ''],
      EINVAL,
      'line 3: endpoint: expected [address]:port, got "[::1]"',
    ],
    [
      'a keepalive out of range',
      ['set=1', peer, 'persistent_keepalive_interval=65536', ''],
      EINVAL,
      'line 3: persistent_keepalive_interval: 65536 is out of range (0-65535)',
    ],
    [
      'an allowed_ip without prefix length',
      ['set=1', peer, 'allowed_ip=10.0.0.1', ''],
      EINVAL,
      'line 3: allowed_ip: expected address/prefix-length, got "10.0.0.1"',
    ],
    [
      'a prefix too long',
      ['set=1', peer, 'allowed_ip=fd00::/129', ''],
      EINVAL,
      'line 3: allowed_ip: invalid CIDR "fd00::/129": prefix length 129 exceeds 128 for IPv6',
    ],
    [
      'protocol_version=2',
      ['set=1', peer, 'protocol_version=2', ''],
      EINVAL,
      'line 3: protocol_version: only version 1 exists, got "2"',
    ],
    [
      'a carriage return',
      ['set=1', 'listen_port=1\r', ''],
      EINVAL,
      'line 2: listen_port: expected a decimal number, got "1\\r"',
    ],
  ];

  it.each(cases)('refuses %s', (_, lines, errno, message) => {
    const result = parseSet(`${lines.join('\n')}\n`) as UapiError;
    expect(result).toEqual({ errno, message });
  });
});
