import { describe, expect, it } from 'vitest';
import { nodeCrypto, randomBytes } from '../../src/crypto/index.js';
import type { Action } from '../../src/wireguard/actions.js';
import { Device } from '../../src/wireguard/device.js';
import { generatePrivateKey } from '../../src/wireguard/keys.js';
import { applySet, type UapiHooks } from './apply.js';
import { EADDRINUSE, EINVAL } from './errno.js';
import { formatGet, parseSet } from './protocol.js';
import { readState } from './state.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const WALL = 1_700_000_000_000;

function newKey() {
  const privateKey = generatePrivateKey(randomBytes);
  return { privateKey, publicKey: nodeCrypto.x25519PublicKey(privateKey) };
}

/** A Device behind the UAPI, the way burrowd's handler drives it. */
function harness() {
  const local = newKey();
  const device = new Device({
    crypto: nodeCrypto,
    privateKey: local.privateKey,
    random: randomBytes,
    wallTime: (now) => WALL + now,
  });
  const sockets = { privateKey: local.privateKey, listenPort: 0, fwmark: 0 };
  const calls: string[] = [];
  const hooks: UapiHooks = {
    setListenPort: (port) => {
      calls.push(`port ${port}`);
      sockets.listenPort = port;
    },
    setFwmark: (mark) => {
      calls.push(`mark ${mark}`);
      sockets.fwmark = mark;
    },
    privateKeyChanged: (key) => {
      calls.push('key');
      sockets.privateKey = key;
    },
  };
  const set = (lines: string[], now = 0) => {
    const request = parseSet(`set=1\n${lines.map((l) => `${l}\n`).join('')}\n`);
    return 'errno' in request ? request : applySet(device, request, now, hooks);
  };
  const get = () => formatGet(readState(device, sockets));
  return { device, local, hooks, calls, set, get };
}

/** Runs a handshake from `a` to its peer on `b`, so both have a current session. */
function handshake(a: Device, b: Device, now: number) {
  const peerOfB = a.getPeer(b.publicKey)!;
  const route = (actions: Action[], to: Device, from: { host: string; port: number }) =>
    actions.flatMap((act) => (act.kind === 'send' ? to.receive(act.data, from, now) : []));
  const response = route(a.initiate(peerOfB, now), b, { host: '192.0.2.1', port: 1 });
  route(response, a, { host: '192.0.2.2', port: 2 });
  expect(peerOfB.current).not.toBeNull();
}

describe('applySet', () => {
  it('configures a Device and get shows it', () => {
    const h = harness();
    const newLocal = newKey();
    const [p1, p2] = [newKey(), newKey()];
    const psk = randomBytes(32);
    const result = h.set([
      `private_key=${hex(newLocal.privateKey)}`,
      'listen_port=51820',
      'fwmark=7',
      `public_key=${hex(p1.publicKey)}`,
      `preshared_key=${hex(psk)}`,
      'endpoint=[2001:db8::1]:51821',
      'allowed_ip=10.0.0.2/32',
      'allowed_ip=fd00::2/128',
      `public_key=${hex(p2.publicKey)}`,
      'endpoint=192.0.2.7:1',
      'allowed_ip=10.1.0.0/16',
    ]);
    expect(result).toEqual({ errno: 0, actions: [] });
    expect(h.calls).toEqual(['port 51820', 'mark 7', 'key']);
    expect(h.device.publicKey).toEqual(newLocal.publicKey);
    expect(h.get()).toBe(
      [
        `private_key=${hex(newLocal.privateKey)}`,
        'listen_port=51820',
        'fwmark=7',
        `public_key=${hex(p1.publicKey)}`,
        `preshared_key=${hex(psk)}`,
        'protocol_version=1',
        'endpoint=[2001:db8::1]:51821',
        'last_handshake_time_sec=0',
        'last_handshake_time_nsec=0',
        'tx_bytes=0',
        'rx_bytes=0',
        'persistent_keepalive_interval=0',
        'allowed_ip=10.0.0.2/32',
        'allowed_ip=fd00::2/128',
        `public_key=${hex(p2.publicKey)}`,
        `preshared_key=${'0'.repeat(64)}`,
        'protocol_version=1',
        'endpoint=192.0.2.7:1',
        'last_handshake_time_sec=0',
        'last_handshake_time_nsec=0',
        'tx_bytes=0',
        'rx_bytes=0',
        'persistent_keepalive_interval=0',
        'allowed_ip=10.1.0.0/16',
        '',
      ].join('\n'),
    );
  });

  it('changes nothing when one line in the middle is bad', () => {
    const h = harness();
    const p1 = newKey();
    h.set([`public_key=${hex(p1.publicKey)}`, 'allowed_ip=10.0.0.2/32']);
    const before = h.get();
    h.calls.length = 0;
    const result = h.set([
      'listen_port=1',
      'replace_peers=true',
      `public_key=${hex(newKey().publicKey)}`,
      'allowed_ip=10.0.0.2/32',
      'allowed_ip=10.0.0.300/32',
      'endpoint=192.0.2.1:1',
    ]);
    expect(result).toEqual({
      errno: EINVAL,
      message: 'line 6: allowed_ip: invalid CIDR "10.0.0.300/32": not an IPv4 or IPv6 address',
    });
    expect(h.get()).toBe(before);
    expect(h.calls).toEqual([]);
  });

  it('replace_peers, remove and update_only follow wireguard-go', () => {
    const h = harness();
    const [a, b, c] = [newKey(), newKey(), newKey()];
    h.set([`public_key=${hex(a.publicKey)}`, `public_key=${hex(b.publicKey)}`]);
    expect([...h.device.peers()]).toHaveLength(2);

    // update_only does not create, and ignores the rest of that peer's lines.
    h.set([`public_key=${hex(c.publicKey)}`, 'update_only=true', 'allowed_ip=10.0.0.3/32']);
    expect(h.device.getPeer(c.publicKey)).toBeUndefined();
    expect(h.device.allowedIps.lookup(new Uint8Array([10, 0, 0, 3]))).toBeUndefined();
    // ...but updates a peer that exists.
    h.set([`public_key=${hex(a.publicKey)}`, 'update_only=true', 'endpoint=192.0.2.1:9']);
    expect(h.device.getPeer(a.publicKey)!.endpoint).toEqual({ host: '192.0.2.1', port: 9 });

    h.set([`public_key=${hex(b.publicKey)}`, 'remove=true', 'allowed_ip=10.0.0.2/32']);
    expect(h.device.getPeer(b.publicKey)).toBeUndefined();
    expect(h.device.allowedIps.lookup(new Uint8Array([10, 0, 0, 2]))).toBeUndefined();

    h.set(['replace_peers=true', `public_key=${hex(c.publicKey)}`]);
    expect([...h.device.peers()].map((p) => hex(p.publicKey))).toEqual([hex(c.publicKey)]);
  });

  it('moves a prefix between peers, and replace_allowed_ips drops the old ones', () => {
    const h = harness();
    const [a, b] = [newKey(), newKey()];
    h.set([`public_key=${hex(a.publicKey)}`, 'allowed_ip=10.0.0.0/24', 'allowed_ip=10.9.0.0/16']);
    h.set([`public_key=${hex(b.publicKey)}`, 'allowed_ip=10.0.0.7/24']);
    const peerA = h.device.getPeer(a.publicKey)!;
    const peerB = h.device.getPeer(b.publicKey)!;
    expect(h.device.allowedIps.lookup(new Uint8Array([10, 0, 0, 1]))).toBe(peerB);
    h.set([`public_key=${hex(a.publicKey)}`, 'replace_allowed_ips=true', 'allowed_ip=fd00::/8']);
    expect(h.device.allowedIps.entriesOf(peerA).map((e) => e.cidr)).toEqual([8]);
    expect(h.device.allowedIps.entriesOf(peerB).map((e) => e.cidr)).toEqual([24]);
  });

  it('ignores a peer with our own public key, and drops one that a new private key makes ours', () => {
    const h = harness();
    const next = newKey();
    h.set([
      `public_key=${hex(h.local.publicKey)}`,
      'allowed_ip=10.0.0.1/32',
      `public_key=${hex(next.publicKey)}`,
    ]);
    expect([...h.device.peers()].map((p) => hex(p.publicKey))).toEqual([hex(next.publicKey)]);
    expect(h.device.allowedIps.lookup(new Uint8Array([10, 0, 0, 1]))).toBeUndefined();
    h.set([`private_key=${hex(next.privateKey)}`]);
    expect([...h.device.peers()]).toEqual([]);
  });

  it('keeps sessions when the private key is set to the one in use', () => {
    const h = harness();
    const remote = newKey();
    const other = new Device({
      crypto: nodeCrypto,
      privateKey: remote.privateKey,
      random: randomBytes,
      wallTime: (now) => WALL + now,
    });
    other.addPeer({ publicKey: h.local.publicKey });
    h.set([`public_key=${hex(remote.publicKey)}`, 'endpoint=192.0.2.2:2']);
    handshake(h.device, other, 1500.25);
    const peer = h.device.getPeer(remote.publicKey)!;
    expect(h.get()).toContain('last_handshake_time_sec=1700000001\nlast_handshake_time_nsec=500250000\n');

    h.calls.length = 0;
    h.set([`private_key=${hex(h.local.privateKey)}`]);
    expect(h.calls).toEqual([]);
    expect(peer.current).not.toBeNull();

    h.set([`private_key=${hex(newKey().privateKey)}`]);
    expect(h.calls).toEqual(['key']);
    expect(peer.current).toBeNull();
  });

  it('sends a keepalive when persistent keepalive is turned on, as wireguard-go does', () => {
    const h = harness();
    const p = newKey();
    const on = h.set(
      [`public_key=${hex(p.publicKey)}`, 'endpoint=192.0.2.1:5', 'persistent_keepalive_interval=25'],
      1000,
    );
    // No session yet, so the keepalive starts a handshake.
    expect(on).toMatchObject({
      errno: 0,
      actions: [{ kind: 'send', endpoint: { host: '192.0.2.1', port: 5 } }],
    });
    expect(h.get()).toContain('persistent_keepalive_interval=25\n');
    expect(h.set([`public_key=${hex(p.publicKey)}`, 'persistent_keepalive_interval=30'], 2000)).toEqual({
      errno: 0,
      actions: [],
    });
  });

  it('reports a socket hook that fails, with the Device untouched', () => {
    const h = harness();
    h.hooks.setListenPort = () => {
      throw Object.assign(new Error('bind EADDRINUSE 0.0.0.0:53'), { code: 'EADDRINUSE' });
    };
    const before = h.get();
    expect(h.set(['listen_port=53', 'replace_peers=true', `public_key=${hex(newKey().publicKey)}`])).toEqual({
      errno: EADDRINUSE,
      message: 'listen_port: bind EADDRINUSE 0.0.0.0:53',
    });
    expect(h.get()).toBe(before);
  });
});
