/** What a ControlClient (client.ts) is given, and what it reports. */
import type { LookupFunction } from 'node:net';
import type { Netmap } from '../../src/control/messages.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';

export type ControlState =
  | { state: 'connecting' }
  /** The server wants a person to sign in at `url`; the channel stays open until they have. */
  | { state: 'login-required'; url: string }
  /** Registered; the map follows. */
  | { state: 'connected' }
  | { state: 'offline'; reason: string; retryInMs: number }
  /** Terminal until `start()` is called again: retrying would get the same answer. */
  | { state: 'refused'; reason: string }
  | { state: 'stopped' };

export interface ControlClientOptions {
  /**
   * http(s)://host:port of burrow-server: one, or a load balancer in front of several instances, or
   * several instances sharing one database and key, tried in turn (see ServerChoice).
   */
  serverUrls: readonly string[];
  /** The server's control key (base64). Without it the key is fetched from the server once and then pinned. */
  serverPublicKey?: string;
  machine: StaticKeyPair;
  /** Base64 public keys. */
  nodeKey: string;
  discoKey: string;
  hostname: string;
  /** Sent with the first registration only: once registered, the server knows the machine key. */
  authKey?: string;
  /** The device's current endpoints (ip:port), read at each map request and `updateEndpoints()`. */
  endpoints: () => string[];
  /**
   * The device's home relay region (the id of its lowest-latency relay region), null while it has
   * none; read when `endpoints` is. Without it the device reports none.
   */
  homeRelay?: () => number | null;
  crypto: CryptoProvider;
  random: (n: number) => Uint8Array;
  /** Unix wall-clock ms. */
  now: () => number;
  log?: (message: string) => void;
  /** The shortest wait before reconnecting; doubles per round of failures up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * After this long with nothing from the server the client pings it, and takes the connection for
   * dead if the ping is not answered within as long again (liveness.ts); default 30 s.
   */
  keepaliveMs?: number;
  /** For fetching the server key and for each connection's handshake. */
  connectTimeoutMs?: number;
  /** How long a share request waits for its reply; default 10 s. */
  requestTimeoutMs?: number;
  /**
   * How the server's host name is looked up for the control connection; by default, DNS. (The
   * key fetch on first use always asks DNS.)
   */
  lookup?: LookupFunction;
}

export interface ControlClientEvents {
  netmap: (map: Netmap, seq: number) => void;
  state: (state: ControlState) => void;
  /**
   * The user's invites or shares changed through some device's request: list them again. Changes
   * made while disconnected are not announced, so a list shown for long should refresh on connect.
   */
  sharesChanged: () => void;
}
