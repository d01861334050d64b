import type { IncomingMessage, Server } from 'node:http';
import type { RelayRegion } from '../../src/control/messages.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import { RELAY_PATH } from '../../src/relay/hello.js';
import { KEY_FEED_PATH } from '../../src/relay/key-feed.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import type { Store } from '../store/store.js';
import { attachKeyFeed } from './key-feed-server.js';
import type { RelayLimits } from './relay-limits.js';
import { attachRelay } from './relay-server.js';
import type { RelayStats } from './relay-stats.js';
import { StoreAllowedKeys } from './store-allowed-keys.js';

export interface HostedRelayOptions {
  crypto: CryptoProvider;
  /** The key of burrow-server's own relay region. */
  relayKey: StaticKeyPair;
  /** The control key, which standalone relays pin to follow the key feed. */
  controlKey: StaticKeyPair;
  random: (n: number) => Uint8Array;
  /** Unix wall-clock ms. */
  now: () => number;
  store: Store;
  /** The configured regions besides the server's own: their relays may follow the key feed. */
  relays: () => readonly RelayRegion[];
  /** Who a request is from (behind a trusted reverse proxy, the client it forwards for). */
  clientAddress: (request: IncomingMessage) => string;
  limits?: Partial<RelayLimits>;
  log?: (message: string) => void;
}

/** The upgrade paths the hosted relay answers. */
export const isRelayPath = (url: string | undefined): boolean => url === RELAY_PATH || url === KEY_FEED_PATH;

/**
 * burrow-server's relay: serves the store's registered, unexpired devices, and streams their keys
 * to the standalone relays of the relay map, so that every region serves the same devices.
 */
/** burrow-server's own relay, on its HTTP server. */
export interface HostedRelay {
  stats(): RelayStats;
  /** Closes every relay connection and stops following the store; settles once the store is free. */
  close(): Promise<void>;
}

export async function attachHostedRelay(http: Server, options: HostedRelayOptions): Promise<HostedRelay> {
  const { crypto, random, now, log, clientAddress } = options;
  const allowed = await StoreAllowedKeys.open(options.store, { now, ...(log ? { log } : {}) });
  const relay = attachRelay(http, {
    crypto,
    relayKey: options.relayKey,
    random,
    now,
    allowed,
    clientAddress,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const feed = attachKeyFeed(http, {
    crypto,
    serverKey: options.controlKey,
    random,
    now,
    relayKeys: () => options.relays().flatMap((r) => (r.publicKey ? [r.publicKey] : [])),
    source: allowed,
    clientAddress,
    ...(log ? { log } : {}),
  });
  return {
    stats: () => relay.stats(),
    close() {
      feed.close();
      relay.close();
      return allowed.close();
    },
  };
}
