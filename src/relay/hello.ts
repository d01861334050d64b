/**
 * How a device reaches a relay, and the payloads of the two Noise handshake messages. The relay
 * reuses the control channel's Noise IK (src/control/noise-session.ts) with the device's node key as
 * its static key, so completing the handshake proves the device holds that key's private half.
 *
 * The hellos are binary and of a fixed size, unlike the control channel's JSON ones, so a first
 * message made for one protocol is refused by the other even if a server used one key for both.
 */

export const RELAY_PATH = '/relay/v1';
export const RELAY_UPGRADE = 'burrow-relay/1';
export const RELAY_VERSION = 1;
/** The relay's Noise prologue: a control-channel handshake is never valid here, nor the reverse. */
export const RELAY_PROLOGUE = 'burrow relay v1';
/** Largest first frame either side reads: a Noise IK message with a 9-byte payload is far below. */
export const MAX_HELLO_FRAME = 1024;

const CLIENT_HELLO_BYTES = 9;

/** The device's hello: the version and its wall clock, which the relay checks against a window. */
export function encodeClientHello(timestampMs: number): Uint8Array {
  const out = new Uint8Array(CLIENT_HELLO_BYTES);
  out[0] = RELAY_VERSION;
  new DataView(out.buffer).setBigUint64(1, BigInt(Math.max(0, Math.trunc(timestampMs))));
  return out;
}

/** The hello's timestamp (Unix ms), or null if it is not a hello of this version. */
export function parseClientHello(bytes: Uint8Array): number | null {
  if (bytes.length !== CLIENT_HELLO_BYTES || bytes[0] !== RELAY_VERSION) return null;
  const ts = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(1);
  return ts <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ts) : null;
}

export const encodeRelayHello = (): Uint8Array => Uint8Array.of(RELAY_VERSION);

export const isRelayHello = (bytes: Uint8Array): boolean => bytes.length === 1 && bytes[0] === RELAY_VERSION;
