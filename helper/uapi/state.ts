import type { Device } from '../../src/wireguard/device.js';
import type { UapiState } from './protocol.js';

/** What a `get` reports that the Device does not hold: the sockets are the driver's, and Device keeps its private key to itself. */
export interface UapiStateExtras {
  privateKey: Uint8Array | null;
  listenPort: number;
  fwmark: number;
}

/**
 * A snapshot of `device` for formatGet. The Device must have been built with a `wallTime` giving
 * Unix ms, since peer.lastHandshakeWall is reported as the time of day of the last handshake.
 */
export function readState(device: Device, extras: UapiStateExtras): UapiState {
  const peers = [...device.peers()].map((peer) => ({
    publicKey: peer.publicKey,
    presharedKey: peer.presharedKey,
    endpoint: peer.endpoint,
    lastHandshakeMs: peer.lastHandshakeWall,
    txBytes: peer.txBytes,
    rxBytes: peer.rxBytes,
    persistentKeepaliveInterval: Math.round(peer.timers.persistentKeepaliveInterval / 1000),
    allowedIps: device.allowedIps.entriesOf(peer),
  }));
  return { ...extras, peers };
}
