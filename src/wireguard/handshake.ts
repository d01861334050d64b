import type { CryptoProvider } from '../crypto/types.js';
import {
  CONSTRUCTION,
  IDENTIFIER,
  INITIATION_SIZE,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  RESPONSE_SIZE,
} from './constants.js';
import { Initiation, Response, readU32, writeType, writeU32 } from './messages.js';
import { IKpsk2, type StaticKeyPair, SymmetricState } from './noise.js';
import { encodeTai64n } from './tai64n.js';

/**
 * WireGuard's framing of the Noise IKpsk2 handshake (whitepaper §5.4.2–§5.4.3). These functions
 * build and read the Noise parts of messages 1 and 2; mac1/mac2 are added and checked by the
 * cookie code, and the caller owns indices, peers and timing.
 */

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const TIMESTAMP_SIZE = 12;

/** The handshake state after the construction and identifier, shared by every handshake. */
export function wireguardStart(crypto: CryptoProvider): SymmetricState {
  return SymmetricState.initial(crypto, encoder.encode(CONSTRUCTION), encoder.encode(IDENTIFIER));
}

export interface InitiationOut {
  message: Uint8Array;
  handshake: IKpsk2;
}

/** Builds an initiation to `peerPublicKey` (macs left zero). Null if a DH result is degenerate. */
export function createInitiation(
  crypto: CryptoProvider,
  start: SymmetricState,
  local: StaticKeyPair,
  ephemeral: StaticKeyPair,
  peerPublicKey: Uint8Array,
  staticStatic: Uint8Array,
  senderIndex: number,
  wallTimeMs: number,
): InitiationOut | null {
  const handshake = new IKpsk2(crypto, start, peerPublicKey);
  const noise = handshake.writeA(local, ephemeral, peerPublicKey, encodeTai64n(wallTimeMs), staticStatic);
  if (noise === null) return null;
  const message = new Uint8Array(INITIATION_SIZE);
  writeType(message, MESSAGE_INITIATION);
  writeU32(message, Initiation.sender, senderIndex);
  message.set(noise, Initiation.noiseStart);
  return { message, handshake };
}

export interface InitiationIn {
  handshake: IKpsk2;
  peerPublicKey: Uint8Array;
  senderIndex: number;
  timestamp: Uint8Array;
}

/**
 * Reads an initiation addressed to us. `resolve` accepts or refuses the decrypted static key of
 * the initiator (and may supply the precomputed static-static DH). Null if it does not authenticate.
 */
export function consumeInitiation(
  crypto: CryptoProvider,
  start: SymmetricState,
  local: StaticKeyPair,
  message: Uint8Array,
  resolve: (peerPublicKey: Uint8Array) => { ss?: Uint8Array } | null,
): InitiationIn | null {
  const handshake = new IKpsk2(crypto, start, local.publicKey);
  const read = handshake.readA(local, message.subarray(Initiation.noiseStart, Initiation.noiseEnd), resolve);
  if (read === null || read.payload.length !== TIMESTAMP_SIZE) return null;
  return {
    handshake,
    peerPublicKey: read.remoteStatic,
    senderIndex: readU32(message, Initiation.sender),
    timestamp: read.payload,
  };
}

/** Builds the response to a consumed initiation (macs left zero). Null if a DH result is degenerate. */
export function createResponse(
  handshake: IKpsk2,
  ephemeral: StaticKeyPair,
  peerPublicKey: Uint8Array,
  psk: Uint8Array,
  senderIndex: number,
  receiverIndex: number,
): Uint8Array | null {
  const noise = handshake.writeB(ephemeral, peerPublicKey, psk, EMPTY);
  if (noise === null) return null;
  const message = new Uint8Array(RESPONSE_SIZE);
  writeType(message, MESSAGE_RESPONSE);
  writeU32(message, Response.sender, senderIndex);
  writeU32(message, Response.receiver, receiverIndex);
  message.set(noise, Response.noiseStart);
  return message;
}

/** Reads the response to our initiation; true if it authenticates (the handshake then holds the keys). */
export function consumeResponse(
  handshake: IKpsk2,
  local: StaticKeyPair,
  ephemeral: StaticKeyPair,
  psk: Uint8Array,
  message: Uint8Array,
): boolean {
  const payload = handshake.readB(
    local,
    ephemeral,
    psk,
    message.subarray(Response.noiseStart, Response.noiseEnd),
  );
  return payload !== null && payload.length === 0;
}

/** The transport keys of a finished handshake, from this side's point of view. */
export function transportKeys(
  handshake: IKpsk2,
  isInitiator: boolean,
): { send: Uint8Array; recv: Uint8Array } {
  const [initiatorToResponder, responderToInitiator] = handshake.state.split();
  handshake.state.wipe();
  return isInitiator
    ? { send: initiatorToResponder, recv: responderToInitiator }
    : { send: responderToInitiator, recv: initiatorToResponder };
}
