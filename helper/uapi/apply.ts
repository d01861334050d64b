import type { Action } from '../../src/wireguard/actions.js';
import type { Device } from '../../src/wireguard/device.js';
import type { Peer } from '../../src/wireguard/peer.js';
import { EADDRINUSE, errnoOf } from './errno.js';
import type { UapiError, UapiPeerSet, UapiSetRequest } from './protocol.js';

/** The parts of a `set` that are not the Device's business. */
export interface UapiHooks {
  /** Rebinds the UDP socket; throws (ideally a Node error with a `code`) if it cannot. */
  setListenPort(port: number): void;
  /** Marks the UDP socket; throws if it cannot. */
  setFwmark(mark: number): void;
  /** The Device changed keys. It does not expose its private key, so the driver keeps it for `get`. */
  privateKeyChanged(privateKey: Uint8Array): void;
}

export interface UapiApplied {
  readonly errno: 0;
  /** Keepalives for peers whose persistent keepalive was just turned on, as wireguard-go sends at once. */
  readonly actions: Action[];
}

/**
 * Applies a validated request with wireguard-go's semantics, line by line: a peer is created by its
 * public_key unless update_only follows, remove drops it and ignores the rest of its lines, a
 * section naming our own public key is ignored, and a new private key that equals the old one
 * changes nothing (`wg syncconf` sends it every time; sessions must survive that).
 *
 * Only the hooks can fail, so they run first: if one throws, the Device is untouched (though a
 * listen port already changed stays changed when the fwmark then fails).
 */
export function applySet(
  device: Device,
  request: UapiSetRequest,
  now: number,
  hooks: UapiHooks,
): UapiApplied | UapiError {
  let port: number | undefined;
  let mark: number | undefined;
  for (const op of request.device) {
    if (op.key === 'listen_port') port = op.value;
    if (op.key === 'fwmark') mark = op.value;
  }
  try {
    if (port !== undefined) hooks.setListenPort(port);
  } catch (err) {
    return { errno: errnoOf(err, EADDRINUSE), message: `listen_port: ${(err as Error).message}` };
  }
  try {
    if (mark !== undefined) hooks.setFwmark(mark);
  } catch (err) {
    return { errno: errnoOf(err, EADDRINUSE), message: `fwmark: ${(err as Error).message}` };
  }

  for (const op of request.device) {
    if (op.key === 'private_key') setPrivateKey(device, op.value, hooks);
    if (op.key === 'replace_peers') for (const peer of [...device.peers()]) device.removePeer(peer);
  }
  const keepaliveTurnedOn = new Set<Peer>();
  for (const set of request.peers) applyPeer(device, set, now, keepaliveTurnedOn);

  const actions: Action[] = [];
  for (const peer of keepaliveTurnedOn) {
    if (device.getPeer(peer.publicKey) === peer && peer.timers.persistentKeepaliveInterval > 0) {
      actions.push(...device.keepalive(peer, now));
    }
  }
  return { errno: 0, actions };
}

function setPrivateKey(device: Device, privateKey: Uint8Array, hooks: UapiHooks): void {
  const publicKey = device.crypto.x25519PublicKey(privateKey);
  if (sameKey(publicKey, device.publicKey)) return;
  // A peer with our own new public key would be ourselves; wireguard-go drops it as well.
  const self = device.getPeer(publicKey);
  if (self !== undefined) device.removePeer(self);
  device.setPrivateKey(privateKey);
  hooks.privateKeyChanged(privateKey.slice());
}

function applyPeer(device: Device, set: UapiPeerSet, now: number, keepaliveTurnedOn: Set<Peer>): void {
  if (sameKey(set.publicKey, device.publicKey)) return;
  let peer = device.getPeer(set.publicKey) ?? null;
  const created = peer === null;
  peer ??= device.addPeer({ publicKey: set.publicKey });
  for (const op of set.ops) {
    if (peer === null) return;
    switch (op.key) {
      case 'update_only':
        if (created) {
          device.removePeer(peer);
          peer = null;
        }
        break;
      case 'remove':
        device.removePeer(peer);
        peer = null;
        break;
      case 'preshared_key':
        peer.presharedKey = op.value.slice();
        break;
      case 'endpoint':
        peer.endpoint = { host: op.value.host, port: op.value.port };
        break;
      case 'persistent_keepalive_interval':
        if (peer.timers.persistentKeepaliveInterval === 0 && op.value > 0) keepaliveTurnedOn.add(peer);
        device.setPersistentKeepalive(peer, op.value, now);
        break;
      case 'replace_allowed_ips':
        device.allowedIps.removeValue(peer);
        break;
      case 'allowed_ip':
        device.allowedIps.insert(op.value.addr, op.value.cidr, peer);
        break;
      case 'protocol_version':
        break;
    }
  }
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
