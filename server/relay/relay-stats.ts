/**
 * The relay's counters, grouped by reason so that burrow-server's metrics can export each group as
 * one labelled counter (e.g. burrow_relay_refused_total{reason="stale"}).
 */

/** Why a connection was refused before it was authenticated. */
export interface RefusedCounters {
  /** Not a Noise first message to this relay's key (garbage, wrong key, oversize first frame). */
  handshake: number;
  /** Authenticated, but the hello payload is not this protocol's. */
  hello: number;
  /** The hello's timestamp is outside the window. */
  stale: number;
  /** The same first message was seen before. */
  replayed: number;
  /** The replay cache is full (a flood of fresh handshakes). */
  busy: number;
  /** Too many handshakes from one address. */
  rateLimited: number;
  /** Too many connections (handshaking or connected) from one address at once. */
  tooManyConnections: number;
  /** Authenticated, but the node key is not a registered, unexpired device's. */
  notAllowed: number;
  /** No complete first message in time. */
  timeout: number;
}

/** Why an authenticated client's connection ended. */
export interface ClosedCounters {
  /** A frame that does not parse (RelayFrameError). */
  malformed: number;
  /** A frame that fails to decrypt: the stream was altered or is not ours. */
  undecryptable: number;
  /** A frame header announcing more than the largest frame. */
  oversize: number;
  /** A newer connection authenticated with the same node key. */
  replaced: number;
  /** The node key stopped being allowed: its device was deleted, or its key expired or rotated. */
  revoked: number;
  /** Nothing received for the idle timeout. */
  idle: number;
  /** The client hung up. */
  disconnected: number;
  /** The relay was closed. */
  shutdown: number;
}

export interface RelayCounters {
  /** Handshakes completed. */
  accepted: number;
  refused: RefusedCounters;
  closed: ClosedCounters;
  /** Times a client's reading was paused because it exceeded its byte or packet rate. */
  rateLimited: number;
  dropped: {
    /** Sends to a key with no connection here (each answered with peer-gone). */
    unknownDestination: number;
    /** Packets not written because the destination's unsent bytes exceeded the queue bound. */
    queueFull: number;
  };
  forwardedPackets: number;
  /** Frames that carried them: packets per frame is how well devices of version 2 batch. */
  forwardedFrames: number;
  /** Packet bytes forwarded (WireGuard ciphertext, excluding relay framing). */
  forwardedBytes: number;
}

export interface RelayStats extends RelayCounters {
  /** Authenticated clients connected now. */
  clients: number;
  /** Bytes written to clients that their sockets have not yet sent, summed. */
  queuedBytes: number;
}

export type CloseReason = keyof ClosedCounters;
export type RefuseReason = keyof RefusedCounters;

export function newCounters(): RelayCounters {
  return {
    accepted: 0,
    refused: {
      handshake: 0,
      hello: 0,
      stale: 0,
      replayed: 0,
      busy: 0,
      rateLimited: 0,
      tooManyConnections: 0,
      notAllowed: 0,
      timeout: 0,
    },
    closed: {
      malformed: 0,
      undecryptable: 0,
      oversize: 0,
      replaced: 0,
      revoked: 0,
      idle: 0,
      disconnected: 0,
      shutdown: 0,
    },
    rateLimited: 0,
    dropped: { unknownDestination: 0, queueFull: 0 },
    forwardedPackets: 0,
    forwardedFrames: 0,
    forwardedBytes: 0,
  };
}
