import type { Aead, CryptoProvider } from '../crypto/types.js';
import { KEYPAIR_FIELDS, KeypairField, type ReplayWindow } from './fast-path.js';
import { ReplayFilter } from './replay.js';

/** One session's transport keys (whitepaper §5.4.5) with its counters and replay window. */
export class Keypair {
  readonly send: Aead;
  readonly recv: Aead;
  /** The send counter (KeypairField), in memory a fast path shares once the session is installed there. */
  state: Float64Array = new Float64Array(KEYPAIR_FIELDS);
  replay: ReplayWindow = new ReplayFilter();

  /** The caller zeroes `keys` once it has handed them on (the Aead instances hold their own copies). */
  constructor(
    crypto: CryptoProvider,
    keys: { send: Uint8Array; recv: Uint8Array },
    /** Our index: the receiver index the peer puts on messages for this session. */
    readonly localIndex: number,
    /** The peer's index, which we put on messages we send. */
    readonly remoteIndex: number,
    readonly isInitiator: boolean,
    readonly created: number,
  ) {
    this.send = crypto.aead(keys.send);
    this.recv = crypto.aead(keys.recv);
  }

  /** The next counter to send with. */
  get sendCounter(): number {
    return this.state[KeypairField.sendCounter]!;
  }
  set sendCounter(n: number) {
    this.state[KeypairField.sendCounter] = n;
  }

  /** Zeroes this session's keys. The keypair must not be used afterwards. */
  wipe(): void {
    this.send.wipe();
    this.recv.wipe();
  }
}
