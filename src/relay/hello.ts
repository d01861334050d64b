/**
 * How a device reaches a relay, and the payloads of the two Noise handshake messages. The relay
 * reuses the control channel's Noise IK (src/control/noise-session.ts) with the device's node key as
 * its static key, so completing the handshake proves the device holds that key's private half.
 *
 * The hellos are binary and of a fixed size, unlike the control channel's JSON ones, so a first
 * message made for one protocol is refused by the other even if a server used one key for both.
 *
 * Versions: 1 is the original protocol; 2 adds the batch frames (src/relay/frames.ts). A relay that
 * speaks 2 says so in its 101 response (RELAY_VERSIONS_HEADER), before the handshake; a device that
 * sees it may then put 2 in its hello, and the relay's hello answers with the same version. Relays
 * of version 1 never see a hello of 2 (they send no such header), and devices of version 1 never
 * send one, so each pair speaks the highest version both know. The header is not authenticated, but
 * the version in force is the one in the hellos, which are: someone between the two can only make
 * them speak version 1, or fail, as they could by dropping the connection.
 */

import type { RelayVersion } from './frames.js';

export const RELAY_PATH = '/relay/v1';
export const RELAY_UPGRADE = 'burrow-relay/1';
export const RELAY_VERSION = 1;
/** The version with batch frames. */
export const RELAY_BATCH_VERSION = 2;
/** The 101 response's header listing the versions the relay speaks (comma-separated). */
export const RELAY_VERSIONS_HEADER = 'Burrow-Relay-Versions';
/** This relay's value for it. */
export const RELAY_VERSIONS = '1, 2';
/** The relay's Noise prologue: a control-channel handshake is never valid here, nor the reverse. */
export const RELAY_PROLOGUE = 'burrow relay v1';
/** Largest first frame either side reads: a Noise IK message with a 9-byte payload is far below. */
export const MAX_HELLO_FRAME = 1024;

const CLIENT_HELLO_BYTES = 9;

/** The version a device asks for, given the relay's RELAY_VERSIONS_HEADER (absent: version 1). */
export function versionOffered(header: string | string[] | undefined): RelayVersion {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  return value.split(',').some((v) => v.trim() === String(RELAY_BATCH_VERSION)) ? 2 : 1;
}

/** The device's hello: the version and its wall clock, which the relay checks against a window. */
export function encodeClientHello(timestampMs: number, version: RelayVersion = 1): Uint8Array {
  const out = new Uint8Array(CLIENT_HELLO_BYTES);
  out[0] = version;
  new DataView(out.buffer).setBigUint64(1, BigInt(Math.max(0, Math.trunc(timestampMs))));
  return out;
}

/** The hello's version and timestamp (Unix ms), or null if it is not a hello of a known version. */
export function parseClientHello(bytes: Uint8Array): { version: RelayVersion; timestampMs: number } | null {
  if (bytes.length !== CLIENT_HELLO_BYTES) return null;
  const version = bytes[0];
  if (version !== 1 && version !== 2) return null;
  const ts = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(1);
  return ts <= BigInt(Number.MAX_SAFE_INTEGER) ? { version, timestampMs: Number(ts) } : null;
}

/** The relay's hello: the version of the device's hello, which both then speak. */
export const encodeRelayHello = (version: RelayVersion = 1): Uint8Array => Uint8Array.of(version);

export const isRelayHello = (bytes: Uint8Array, version: RelayVersion = 1): boolean =>
  bytes.length === 1 && bytes[0] === version;
