import type { CryptoProvider } from '../crypto/types.js';

/**
 * The Noise_IKpsk2 handshake over X25519, ChaCha20-Poly1305 and BLAKE2s, independent of WireGuard's
 * framing so that the same code runs the cacophony test vectors and WireGuard's handshake.
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss
 *   <- e, ee, se, psk
 *
 * Every read returns null instead of throwing when a message does not authenticate.
 */

const EMPTY = new Uint8Array(0);
const KEY_LEN = 32;
const TAG_LEN = 16;

/** Noise's SymmetricState: the chaining key, the handshake hash and the current cipher key. */
export class SymmetricState {
  ck: Uint8Array;
  h: Uint8Array;
  private k: Uint8Array | null = null;
  private n = 0;

  constructor(
    private readonly crypto: CryptoProvider,
    ck: Uint8Array,
    h: Uint8Array,
  ) {
    this.ck = ck;
    this.h = h;
  }

  /** The initial state for a protocol name and prologue (Noise §5.2 InitializeSymmetric + MixHash). */
  static initial(crypto: CryptoProvider, protocolName: Uint8Array, prologue: Uint8Array): SymmetricState {
    let h: Uint8Array;
    if (protocolName.length <= 32) {
      h = new Uint8Array(32);
      h.set(protocolName);
    } else {
      h = crypto.hash(protocolName);
    }
    const state = new SymmetricState(crypto, h, h);
    state.mixHash(prologue);
    return state;
  }

  clone(): SymmetricState {
    const copy = new SymmetricState(this.crypto, this.ck, this.h);
    copy.k = this.k;
    copy.n = this.n;
    return copy;
  }

  mixHash(data: Uint8Array): void {
    this.h = this.crypto.hash(this.h, data);
  }

  mixKey(input: Uint8Array): void {
    const [ck, k] = this.crypto.kdf(2, this.ck, input) as [Uint8Array, Uint8Array];
    this.ck = ck;
    this.k = k;
    this.n = 0;
  }

  mixKeyAndHash(input: Uint8Array): void {
    const [ck, th, k] = this.crypto.kdf(3, this.ck, input) as [Uint8Array, Uint8Array, Uint8Array];
    this.ck = ck;
    this.mixHash(th);
    this.k = k;
    this.n = 0;
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    if (this.k === null) {
      this.mixHash(plaintext);
      return plaintext.slice();
    }
    const out = new Uint8Array(plaintext.length + TAG_LEN);
    this.crypto.aead(this.k).seal(this.n++, plaintext, this.h, out, 0);
    this.mixHash(out);
    return out;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array | null {
    if (this.k === null) {
      this.mixHash(ciphertext);
      return ciphertext.slice();
    }
    const plaintext = this.crypto.aead(this.k).open(this.n, ciphertext, this.h);
    if (plaintext === null) return null;
    this.n++;
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Noise Split(): the two transport keys, initiator-to-responder first. */
  split(): [Uint8Array, Uint8Array] {
    return this.crypto.kdf(2, this.ck, EMPTY) as [Uint8Array, Uint8Array];
  }

  /** Erases the secrets this state holds. */
  wipe(): void {
    this.ck.fill(0);
    this.k?.fill(0);
    this.k = null;
  }
}

export interface StaticKeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** Sizes of the two handshake messages for a given payload length. */
export const messageASize = (payloadLength: number) =>
  KEY_LEN + (KEY_LEN + TAG_LEN) + payloadLength + TAG_LEN;
export const messageBSize = (payloadLength: number) => KEY_LEN + payloadLength + TAG_LEN;

/** What the responder learns from a valid first message. */
export interface MessageARead {
  remoteStatic: Uint8Array;
  remoteEphemeral: Uint8Array;
  payload: Uint8Array;
}

/**
 * Decides whether the responder accepts an initiator's static key and, if so, may hand back the
 * precomputed DH(s_responder, s_initiator) (WireGuard keeps it per peer to save one X25519).
 */
export type StaticResolver = (remoteStatic: Uint8Array) => { ss?: Uint8Array } | null;

/**
 * One IKpsk2 handshake. `start` is the symmetric state after the prologue; the responder's static
 * key is mixed in here as the pre-message.
 */
export class IKpsk2 {
  /** Replaced only when a message step completes, so a forged message cannot spoil the handshake. */
  state: SymmetricState;
  /** The remote party's ephemeral key, once known. */
  remoteEphemeral: Uint8Array | null = null;

  constructor(
    private readonly crypto: CryptoProvider,
    start: SymmetricState,
    responderStatic: Uint8Array,
  ) {
    this.state = start.clone();
    this.state.mixHash(responderStatic);
  }

  /** Initiator: -> e, es, s, ss, payload. Returns null if a DH result is all zeros. */
  writeA(
    local: StaticKeyPair,
    ephemeral: StaticKeyPair,
    remoteStatic: Uint8Array,
    payload: Uint8Array,
    ss?: Uint8Array,
  ): Uint8Array | null {
    const st = this.state.clone();
    const { crypto } = this;
    const out = new Uint8Array(messageASize(payload.length));
    out.set(ephemeral.publicKey, 0);
    st.mixHash(ephemeral.publicKey);
    st.mixKey(ephemeral.publicKey); // psk modes also mix e into the chaining key
    const es = crypto.x25519(ephemeral.privateKey, remoteStatic);
    if (es === null) return null;
    st.mixKey(es);
    out.set(st.encryptAndHash(local.publicKey), KEY_LEN);
    const staticStatic = ss ?? crypto.x25519(local.privateKey, remoteStatic);
    if (staticStatic === null) return null;
    st.mixKey(staticStatic);
    out.set(st.encryptAndHash(payload), KEY_LEN + KEY_LEN + TAG_LEN);
    this.state = st;
    return out;
  }

  /** Responder: reads -> e, es, s, ss, payload. Null if it does not authenticate or `resolve` refuses. */
  readA(local: StaticKeyPair, message: Uint8Array, resolve: StaticResolver): MessageARead | null {
    if (message.length < messageASize(0)) return null;
    const st = this.state.clone();
    const { crypto } = this;
    const re = message.slice(0, KEY_LEN);
    st.mixHash(re);
    st.mixKey(re);
    const es = crypto.x25519(local.privateKey, re);
    if (es === null) return null;
    st.mixKey(es);
    const remoteStatic = st.decryptAndHash(message.subarray(KEY_LEN, KEY_LEN + KEY_LEN + TAG_LEN));
    if (remoteStatic === null) return null;
    const known = resolve(remoteStatic);
    if (known === null) return null;
    const ss = known.ss ?? crypto.x25519(local.privateKey, remoteStatic);
    if (ss === null) return null;
    st.mixKey(ss);
    const payload = st.decryptAndHash(message.subarray(KEY_LEN + KEY_LEN + TAG_LEN));
    if (payload === null) return null;
    this.state = st;
    this.remoteEphemeral = re;
    return { remoteStatic, remoteEphemeral: re, payload };
  }

  /** Responder: <- e, ee, se, psk, payload. Needs the initiator's static and ephemeral keys from readA. */
  writeB(
    ephemeral: StaticKeyPair,
    remoteStatic: Uint8Array,
    psk: Uint8Array,
    payload: Uint8Array,
  ): Uint8Array | null {
    const re = this.remoteEphemeral;
    if (re === null) throw new Error('writeB before readA');
    const st = this.state.clone();
    const { crypto } = this;
    const out = new Uint8Array(messageBSize(payload.length));
    out.set(ephemeral.publicKey, 0);
    st.mixHash(ephemeral.publicKey);
    st.mixKey(ephemeral.publicKey);
    const ee = crypto.x25519(ephemeral.privateKey, re);
    if (ee === null) return null;
    st.mixKey(ee);
    const se = crypto.x25519(ephemeral.privateKey, remoteStatic);
    if (se === null) return null;
    st.mixKey(se);
    st.mixKeyAndHash(psk);
    out.set(st.encryptAndHash(payload), KEY_LEN);
    this.state = st;
    return out;
  }

  /** Initiator: reads <- e, ee, se, psk, payload. Null if it does not authenticate. */
  readB(
    local: StaticKeyPair,
    ephemeral: StaticKeyPair,
    psk: Uint8Array,
    message: Uint8Array,
  ): Uint8Array | null {
    if (message.length < messageBSize(0)) return null;
    const st = this.state.clone();
    const { crypto } = this;
    const re = message.slice(0, KEY_LEN);
    st.mixHash(re);
    st.mixKey(re);
    const ee = crypto.x25519(ephemeral.privateKey, re);
    if (ee === null) return null;
    st.mixKey(ee);
    const se = crypto.x25519(local.privateKey, re);
    if (se === null) return null;
    st.mixKey(se);
    st.mixKeyAndHash(psk);
    const payload = st.decryptAndHash(message.subarray(KEY_LEN));
    if (payload === null) return null;
    this.state = st;
    this.remoteEphemeral = re;
    return payload;
  }
}
