import type { Aead, CryptoProvider } from '../crypto/types.js';
import { clampPrivateKey } from '../wireguard/keys.js';
import { IKpsk2, type StaticKeyPair, SymmetricState } from '../wireguard/noise.js';
import { FRAME_HEADER, FrameError, MAX_FRAME } from './framing.js';

/**
 * The control channel's encryption: Noise IK from a device's machine key to the server's static key,
 * reusing the WireGuard handshake code with a zero PSK and a prologue of its own, so that neither
 * protocol's messages are valid in the other. After the two handshake messages, each direction
 * seals frames with an implicit counter: the channel is an ordered byte stream, so a replayed,
 * dropped, reordered or altered frame fails to open and the connection is closed.
 */

const encoder = new TextEncoder();
const PROTOCOL = encoder.encode('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
/** The control channel's prologue; another protocol on this handshake (the relay) passes its own. */
export const CONTROL_PROLOGUE = 'burrow control v1';
const ZERO_PSK = new Uint8Array(32);
const TAG = 16;

function start(crypto: CryptoProvider, prologue: string): SymmetricState {
  return SymmetricState.initial(crypto, PROTOCOL, encoder.encode(prologue));
}

/** One direction-pair of transport keys with their counters. */
export class ControlSession {
  private sendCounter = 0;
  private recvCounter = 0;
  private closed = false;

  constructor(
    private readonly send: Aead,
    private readonly recv: Aead,
  ) {}

  seal(payload: Uint8Array): Uint8Array {
    if (this.closed) throw new Error('control session is closed');
    const out = new Uint8Array(payload.length + TAG);
    this.send.seal(this.sendCounter++, payload, null, out, 0);
    return out;
  }

  /** `encodeFrame(seal(payload))` with one buffer and one copy fewer: what the relay's stream carries. */
  sealFrame(payload: Uint8Array): Uint8Array {
    if (this.closed) throw new Error('control session is closed');
    const length = payload.length + TAG;
    if (length > MAX_FRAME) throw new FrameError(`frame of ${length} bytes exceeds ${MAX_FRAME}`);
    const out = new Uint8Array(FRAME_HEADER + length);
    new DataView(out.buffer).setUint32(0, length);
    this.send.seal(this.sendCounter++, payload, null, out, FRAME_HEADER);
    return out;
  }

  /** The next frame's payload, or null if it is not the next authentic frame (then the session is dead). */
  open(frame: Uint8Array): Uint8Array | null {
    if (this.closed) return null;
    const payload = this.recv.open(this.recvCounter, frame, null);
    if (payload === null) {
      this.close();
      return null;
    }
    this.recvCounter++;
    return payload;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.send.wipe();
    this.recv.wipe();
  }
}

function keyPair(crypto: CryptoProvider, random: (n: number) => Uint8Array): StaticKeyPair {
  const privateKey = clampPrivateKey(random(32));
  return { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
}

function sessionOf(crypto: CryptoProvider, noise: IKpsk2, initiator: boolean): ControlSession {
  const [i2r, r2i] = noise.state.split();
  noise.state.wipe();
  const session = initiator
    ? new ControlSession(crypto.aead(i2r), crypto.aead(r2i))
    : new ControlSession(crypto.aead(r2i), crypto.aead(i2r));
  i2r.fill(0);
  r2i.fill(0);
  return session;
}

/** A device's side of the handshake: the first message to send, and how to finish on the reply. */
export function clientHandshake(
  crypto: CryptoProvider,
  machine: StaticKeyPair,
  serverPublicKey: Uint8Array,
  payload: Uint8Array,
  random: (n: number) => Uint8Array,
  prologue = CONTROL_PROLOGUE,
): {
  message: Uint8Array;
  finish(reply: Uint8Array): { session: ControlSession; payload: Uint8Array } | null;
} {
  const noise = new IKpsk2(crypto, start(crypto, prologue), serverPublicKey);
  const ephemeral = keyPair(crypto, random);
  const message = noise.writeA(machine, ephemeral, serverPublicKey, payload);
  if (message === null) throw new Error('the server key is not a usable X25519 public key');
  return {
    message,
    finish(reply) {
      const replyPayload = noise.readB(machine, ephemeral, ZERO_PSK, reply);
      ephemeral.privateKey.fill(0);
      if (replyPayload === null) return null;
      return { session: sessionOf(crypto, noise, true), payload: replyPayload };
    },
  };
}

export interface AcceptedHello {
  /** The device's machine key, proven by the handshake. */
  machineKey: Uint8Array;
  /** Its ephemeral key: the same first message twice is a replay. */
  ephemeralKey: Uint8Array;
  payload: Uint8Array;
  /** Builds the reply and the session. */
  reply(payload: Uint8Array): { message: Uint8Array; session: ControlSession };
}

/** The server's side: reads a first message, or returns null if it does not authenticate. */
export function serverHandshake(
  crypto: CryptoProvider,
  server: StaticKeyPair,
  message: Uint8Array,
  random: (n: number) => Uint8Array,
  prologue = CONTROL_PROLOGUE,
): AcceptedHello | null {
  const noise = new IKpsk2(crypto, start(crypto, prologue), server.publicKey);
  const read = noise.readA(server, message, () => ({}));
  if (read === null) return null;
  return {
    machineKey: read.remoteStatic,
    ephemeralKey: read.remoteEphemeral,
    payload: read.payload,
    reply(payload) {
      const ephemeral = keyPair(crypto, random);
      const reply = noise.writeB(ephemeral, read.remoteStatic, ZERO_PSK, payload);
      ephemeral.privateKey.fill(0);
      if (reply === null) throw new Error('degenerate key in control handshake');
      return { message: reply, session: sessionOf(crypto, noise, false) };
    },
  };
}
