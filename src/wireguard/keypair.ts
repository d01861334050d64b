import type { Aead, CryptoProvider } from '../crypto/types.js';
import { ReplayFilter } from './replay.js';

/** One session's transport keys (whitepaper §5.4.5) with its counters and replay window. */
export class Keypair {
  readonly send: Aead;
  readonly recv: Aead;
  /** The next counter to send with. */
  sendCounter = 0;
  readonly replay = new ReplayFilter();

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
    // The Aead instances hold their own copies; these were only the KDF's output.
    keys.send.fill(0);
    keys.recv.fill(0);
  }

  /** Zeroes this session's keys. The keypair must not be used afterwards. */
  wipe(): void {
    this.send.wipe();
    this.recv.wipe();
  }
}
