import { hostname as osHostname } from 'node:os';
import { parseControlUrls } from '../../src/control/control-urls.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import { ControlClient } from '../control/client.js';
import type { LastKnownAddresses } from './last-known-addresses.js';
import type { Log } from './log.js';
import type { DeviceKeys } from './state-dir.js';
import type { Tunnel } from './tunnel.js';

const crypto = selectCrypto();
const publicOf = (privateKey: Uint8Array) => encodeKey(crypto.x25519PublicKey(privateKey));

export interface MeshControlOptions {
  /** The prefs' control URL (one, or several separated by commas). */
  controlUrl: string;
  /** The server's key as pinned on the last connection to it, if any. */
  pinned: string | null;
  keys: DeviceKeys;
  /** The prefs' hostname; null: this machine's. */
  hostname: string | null;
  authKey?: string;
  tunnel: () => Tunnel | null;
  lookup: LastKnownAddresses['lookup'];
  log: Log;
}

/**
 * A mesh node's control client: this device as the control server knows it (its machine, node and
 * disco keys, a hostname DNS can carry), and what it reports as it changes (its endpoints, its home
 * relay).
 */
export function meshControlClient(o: MeshControlOptions): ControlClient {
  return new ControlClient({
    serverUrls: parseControlUrls(o.controlUrl),
    ...(o.pinned ? { serverPublicKey: o.pinned } : {}),
    machine: { privateKey: o.keys.machine, publicKey: crypto.x25519PublicKey(o.keys.machine) },
    nodeKey: publicOf(o.keys.node),
    discoKey: publicOf(o.keys.disco),
    hostname: (o.hostname ?? osHostname()).replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63) || 'device',
    ...(o.authKey ? { authKey: o.authKey } : {}),
    endpoints: () => o.tunnel()?.endpoints() ?? [],
    homeRelay: () => o.tunnel()?.homeRelay() ?? null,
    crypto,
    random: randomBytes,
    now: Date.now,
    lookup: o.lookup,
    log: (m) => o.log.info(`control: ${m}`),
  });
}
