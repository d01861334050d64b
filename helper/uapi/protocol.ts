/**
 * WireGuard's cross-platform userspace configuration protocol (wireguard.com/xplatform), the text
 * that `wg` exchanges with a userspace implementation over /var/run/wireguard/<name>.sock. Pure
 * functions: formatGet writes the answer to `get=1`, parseSet reads and fully validates `set=1`.
 * The framing and the trailing `errno=` line belong to the server.
 */

import { formatAddr, parseCidr } from '../../src/packet/ip-text.js';
import type { Endpoint } from '../../src/wireguard/actions.js';
import { endpointText } from '../../src/wireguard/actions.js';
import { parseDecimal, parseEndpoint } from '../wgconfig/values.js';
import { EINVAL, EMSGSIZE, EPROTO } from './errno.js';

/** A refused request. `errno` is positive (the server writes it as wg expects); `message` says why. */
export interface UapiError {
  readonly errno: number;
  readonly message: string;
}

export interface UapiPeerState {
  publicKey: Uint8Array;
  /** All zero when the peer has none, printed as such (as wireguard-go does). */
  presharedKey: Uint8Array;
  endpoint: Endpoint | null;
  /** Unix time of the last handshake in ms, 0 if none. */
  lastHandshakeMs: number;
  txBytes: number;
  rxBytes: number;
  /** Seconds, 0 for off. */
  persistentKeepaliveInterval: number;
  allowedIps: { addr: Uint8Array; cidr: number }[];
}

export interface UapiState {
  privateKey: Uint8Array | null;
  /** 0 if not bound. */
  listenPort: number;
  /** 0 for none. */
  fwmark: number;
  peers: UapiPeerState[];
}

/** Interface-wide operations, which the protocol puts before the first public_key. */
export type UapiDeviceOp =
  | { readonly key: 'private_key'; readonly value: Uint8Array }
  | { readonly key: 'listen_port'; readonly value: number }
  | { readonly key: 'fwmark'; readonly value: number }
  | { readonly key: 'replace_peers' };

/** Operations on the peer named by the preceding public_key, applied in order. */
export type UapiPeerOp =
  | { readonly key: 'remove' }
  | { readonly key: 'update_only' }
  | { readonly key: 'preshared_key'; readonly value: Uint8Array }
  | { readonly key: 'endpoint'; readonly value: Endpoint }
  | { readonly key: 'persistent_keepalive_interval'; readonly value: number }
  | { readonly key: 'replace_allowed_ips' }
  | { readonly key: 'allowed_ip'; readonly value: { readonly addr: Uint8Array; readonly cidr: number } }
  | { readonly key: 'protocol_version' };

export interface UapiPeerSet {
  readonly publicKey: Uint8Array;
  readonly ops: UapiPeerOp[];
}

/** A `set=1` request that has been checked completely, so applying it cannot fail halfway. */
export interface UapiSetRequest {
  readonly device: UapiDeviceOp[];
  readonly peers: UapiPeerSet[];
}

/**
 * The key=value lines answering `get=1`, in wireguard-go's order and with its omissions (no
 * private_key when unset, no listen_port or fwmark when 0, no endpoint when unknown). The server
 * appends `errno=0` and the empty line.
 */
export function formatGet(state: UapiState): string {
  const lines: string[] = [];
  if (state.privateKey !== null && !isZero(state.privateKey))
    lines.push(`private_key=${hex(state.privateKey)}`);
  if (state.listenPort !== 0) lines.push(`listen_port=${state.listenPort}`);
  if (state.fwmark !== 0) lines.push(`fwmark=${state.fwmark}`);
  for (const peer of state.peers) {
    lines.push(
      `public_key=${hex(peer.publicKey)}`,
      `preshared_key=${hex(peer.presharedKey)}`,
      'protocol_version=1',
    );
    if (peer.endpoint !== null) lines.push(`endpoint=${endpointText(peer.endpoint)}`);
    const sec = Math.floor(peer.lastHandshakeMs / 1000);
    const nsec = Math.min(999_999_999, Math.floor((peer.lastHandshakeMs - sec * 1000) * 1e6));
    lines.push(
      `last_handshake_time_sec=${sec}`,
      `last_handshake_time_nsec=${nsec}`,
      `tx_bytes=${peer.txBytes}`,
      `rx_bytes=${peer.rxBytes}`,
      `persistent_keepalive_interval=${peer.persistentKeepaliveInterval}`,
    );
    for (const { addr, cidr } of peer.allowedIps) lines.push(`allowed_ip=${formatAddr(addr)}/${cidr}`);
  }
  return lines.map((line) => `${line}\n`).join('');
}

const DEVICE_KEYS: ReadonlySet<string> = new Set<UapiDeviceOp['key']>([
  'private_key',
  'listen_port',
  'fwmark',
  'replace_peers',
]);
const PEER_KEYS: ReadonlySet<string> = new Set<UapiPeerOp['key']>([
  'remove',
  'update_only',
  'preshared_key',
  'endpoint',
  'persistent_keepalive_interval',
  'replace_allowed_ips',
  'allowed_ip',
  'protocol_version',
]);

/**
 * Reads a complete `set=1` request, from its first line through the empty line that ends it, and
 * validates every line before returning (SetParser does the work; the UAPI server streams lines
 * into one instead). Beyond SetParser's checks, this refuses data after the empty line and an
 * unterminated request.
 */
export function parseSet(text: string): UapiSetRequest | UapiError {
  if (!text.startsWith('set=1\n')) return { errno: EPROTO, message: 'line 1: expected "set=1"' };
  if (!text.endsWith('\n\n'))
    return { errno: EPROTO, message: 'the request does not end with an empty line' };
  const body = text.slice('set=1\n'.length, -2);
  const parser = new SetParser();
  for (const line of body === '' ? [] : body.split('\n')) {
    if (line === '')
      return {
        errno: EPROTO,
        message: `line ${parser.lines + 2}: an empty line ends the request, yet more follows`,
      };
    parser.push(line);
  }
  return parser.finish();
}

/**
 * Most lines in one `set` (wireguard-go has no limit). The parsed request is kept whole until it is
 * applied, so that a bad line changes nothing; this bounds that plan (some 200 bytes a line) while
 * leaving room for a setconf with hundreds of thousands of allowed IPs.
 */
export const MAX_SET_LINES = 1 << 20;

/**
 * Reads a `set=1` request line by line, as it arrives: the memory a request takes is its parsed
 * plan, never its text. The values wireguard-go accepts are accepted, an all-zero private_key
 * meaning "no private key" as there, with two exceptions: endpoint port 0 (nothing can be sent
 * there), and more than `maxLines` lines. The first bad line decides the answer; the lines after it
 * are only counted, since the request's end must still be found.
 */
export class SetParser {
  /** Lines pushed so far (after "set=1"). */
  lines = 0;
  private readonly request: { device: UapiDeviceOp[]; peers: UapiPeerSet[] } = { device: [], peers: [] };
  private peer: UapiPeerSet | null = null;
  private error: UapiError | null = null;

  constructor(private readonly maxLines = MAX_SET_LINES) {}

  /** One line of the request's body, without its newline; never the empty line that ends it. */
  push(line: string): void {
    this.lines++;
    if (this.error !== null) return;
    if (this.lines > this.maxLines) {
      this.fail({ errno: EMSGSIZE, message: `the request has more than ${this.maxLines} lines` });
      return;
    }
    const error = this.read(line, this.lines + 1);
    if (error !== null) this.fail(error);
  }

  /** Adds line `n`'s operation to the request, or says why it is refused. */
  private read(line: string, n: number): UapiError | null {
    const eq = line.indexOf('=');
    if (eq === -1)
      return { errno: EPROTO, message: `line ${n}: expected key=value, got ${JSON.stringify(line)}` };
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    const invalid = (reason: string): UapiError => ({
      errno: EINVAL,
      message: `line ${n}: ${key}: ${reason}`,
    });
    try {
      if (key === 'public_key') {
        this.peer = { publicKey: hexKey(value), ops: [] };
        this.request.peers.push(this.peer);
      } else if (DEVICE_KEYS.has(key)) {
        if (this.peer !== null) return invalid('interface keys must come before the first public_key');
        this.request.device.push(deviceOp(key as UapiDeviceOp['key'], value));
      } else if (PEER_KEYS.has(key)) {
        if (this.peer === null) return invalid('peer keys must follow a public_key');
        this.peer.ops.push(peerOp(key as UapiPeerOp['key'], value));
      } else {
        return invalid('unknown key');
      }
    } catch (err) {
      return invalid((err as Error).message);
    }
    return null;
  }

  /** The request, or why it is refused; call once the empty line came. */
  finish(): UapiSetRequest | UapiError {
    return this.error ?? this.request;
  }

  private fail(error: UapiError): void {
    this.error = error;
    // Nothing of a refused request is applied: let go of what was read.
    this.request.device.length = 0;
    this.request.peers.length = 0;
    this.peer = null;
  }
}

/** One interface line; throws an Error with the reason if the value is bad. */
function deviceOp(key: UapiDeviceOp['key'], value: string): UapiDeviceOp {
  switch (key) {
    case 'private_key':
      // All zero means "no private key": what `wg setconf` sends for a file without PrivateKey.
      return { key, value: hexKey(value) };
    case 'listen_port':
      return { key, value: parseDecimal(value, 0, 65535) };
    case 'fwmark':
      return { key, value: parseDecimal(value, 0, 0xffff_ffff) };
    case 'replace_peers':
      onlyTrue(value);
      return { key };
  }
}

/** One peer line; throws an Error with the reason if the value is bad. */
function peerOp(key: UapiPeerOp['key'], value: string): UapiPeerOp {
  switch (key) {
    case 'remove':
    case 'update_only':
    case 'replace_allowed_ips':
      onlyTrue(value);
      return { key };
    case 'preshared_key':
      return { key, value: hexKey(value) };
    case 'endpoint':
      // wg resolves host names itself and sends an address.
      return { key, value: parseEndpoint(value, false) };
    case 'persistent_keepalive_interval':
      return { key, value: parseDecimal(value, 0, 65535) };
    case 'allowed_ip': {
      if (!value.includes('/'))
        throw new Error(`expected address/prefix-length, got ${JSON.stringify(value)}`);
      const { addr, cidr } = parseCidr(value);
      return { key, value: { addr, cidr } };
    }
    case 'protocol_version':
      if (value !== '1') throw new Error(`only version 1 exists, got ${JSON.stringify(value)}`);
      return { key };
  }
}

function onlyTrue(value: string): void {
  if (value !== 'true') throw new Error(`the only valid value is "true", got ${JSON.stringify(value)}`);
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

function hexKey(value: string): Uint8Array {
  if (!HEX_KEY.test(value)) {
    throw new Error(
      `expected 64 hex digits, got ${JSON.stringify(value.length > 70 ? `${value.slice(0, 64)}...` : value)}`,
    );
  }
  const key = new Uint8Array(32);
  for (let i = 0; i < 32; i++) key[i] = Number.parseInt(value.slice(2 * i, 2 * i + 2), 16);
  return key;
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}
