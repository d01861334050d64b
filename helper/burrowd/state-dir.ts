import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ip, type Netmap, netmap as netmapSchema } from '../../src/control/messages.js';
import {
  array,
  integer,
  object,
  parseJson,
  type Schema,
  SchemaError,
  string,
} from '../../src/control/schema.js';
import { type Prefs, prefs as prefsSchema } from '../../src/localapi/api.js';
import { DEFAULT_PREFS } from '../../src/localapi/defaults.js';
import { decodeKey, encodeKey } from '../../src/wireguard/keys.js';
import type { ForwardingValues } from '../routing/exit-node.js';
import type { KnownHost } from './last-known-addresses.js';

/** A state file that exists but cannot be used: named, with what is wrong, so the user can act. */
export class StateError extends Error {}

const KEY_TEXT = string({ min: 44, max: 44, pattern: /^[A-Za-z0-9+/]{43}=$/, what: 'a base64 key' });
const keysSchema = object({
  version: integer({ min: 1, max: 1 }),
  machine: KEY_TEXT,
  node: KEY_TEXT,
  disco: KEY_TEXT,
});
const controlSchema = object({ url: string({ min: 1, max: 2048 }), publicKey: KEY_TEXT });
const sysctlValue = string({ min: 1, max: 8, pattern: /^\d+$/, what: 'a sysctl value' });
const forwardingSchema = object({ ipv4: sysctlValue, ipv6: sysctlValue });
const knownHostsSchema = array(
  object({ host: string({ min: 1, max: 253 }), addresses: array(ip, { max: 64 }) }),
  { max: 64 },
);
/** Prefs as saved by any version: a field newer than the file (acceptDns) takes its default. */
const storedPrefs: Schema<Prefs> = {
  parse(value, path) {
    const saved = typeof value === 'object' && value !== null && !Array.isArray(value);
    return prefsSchema.parse(saved ? { acceptDns: DEFAULT_PREFS.acceptDns, ...value } : value, path);
  },
};
const cachedMap = object({ seq: integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), map: netmapSchema });

/** The device's private keys: the machine key (this install), the node key (WireGuard) and the disco key. */
export interface DeviceKeys {
  machine: Uint8Array;
  node: Uint8Array;
  disco: Uint8Array;
}

/**
 * burrowd's state directory (`--state-dir`): its keys, prefs, the control server's pinned key,
 * the last netmap, the last known addresses of the servers it connects to and the forwarding
 * settings it changed, each in its own file, written atomically
 * (a temp file renamed over the old one) with mode 0600, since the keys are secrets and never leave
 * this machine. A file that does not
 * parse is an error naming it, never silently replaced: losing the keys would make a new device.
 */
export class StateDir {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }

  /** The keys, made (from `random`) and saved on first use. */
  keys(random: (n: number) => Uint8Array, clamp: (k: Uint8Array) => Uint8Array): DeviceKeys {
    const stored = this.read('keys.json', keysSchema);
    if (stored)
      return {
        machine: decodeKey(stored.machine),
        node: decodeKey(stored.node),
        disco: decodeKey(stored.disco),
      };
    const keys = { machine: clamp(random(32)), node: clamp(random(32)), disco: clamp(random(32)) };
    this.writeKeys(keys);
    return keys;
  }

  /** Replaces the node key (logout: the next login is a fresh node key for the same machine). */
  writeKeys(keys: DeviceKeys): void {
    this.write('keys.json', {
      version: 1,
      machine: encodeKey(keys.machine),
      node: encodeKey(keys.node),
      disco: encodeKey(keys.disco),
    });
  }

  /** The prefs; a field added since they were saved (acceptDns) takes its default. */
  prefs(): Prefs {
    return this.read('prefs.json', storedPrefs) ?? { ...DEFAULT_PREFS };
  }

  savePrefs(prefs: Prefs): void {
    this.write('prefs.json', prefs);
  }

  /** The control server's key as first seen (pinned, as SSH pins host keys), for its URL. */
  controlKey(url: string): string | null {
    const pinned = this.read('control.json', controlSchema);
    return pinned?.url === url ? pinned.publicKey : null;
  }

  saveControlKey(url: string, publicKey: string): void {
    this.write('control.json', { url, publicKey });
  }

  /** The last netmap, so that a restart without the server brings the tunnel back as it was. */
  netmap(): { seq: number; map: Netmap } | null {
    return this.read('netmap.json', cachedMap);
  }

  saveNetmap(seq: number, map: Netmap | null): void {
    this.write('netmap.json', map === null ? null : { seq, map });
  }

  /** The control server's and relays' last known addresses (see LastKnownAddresses). */
  knownHosts(): KnownHost[] {
    return this.read('addresses.json', knownHostsSchema) ?? [];
  }

  saveKnownHosts(hosts: KnownHost[]): void {
    this.write('addresses.json', hosts);
  }

  /**
   * The forwarding sysctls as they were before this device began serving as an exit node or
   * subnet router; null while it is not (see ExitNodeNat).
   */
  forwarding(): ForwardingValues | null {
    return this.read('forwarding.json', forwardingSchema);
  }

  saveForwarding(values: ForwardingValues | null): void {
    this.write('forwarding.json', values);
  }

  private read<T>(name: string, schema: Schema<T>): T | null {
    const path = join(this.dir, name);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new StateError(`cannot read ${path}: ${(error as Error).message}`);
    }
    if (text.trim() === 'null') return null;
    try {
      return parseJson(schema, text, name);
    } catch (error) {
      if (error instanceof SchemaError) throw new StateError(`${path} is damaged: ${error.message}`);
      throw error;
    }
  }

  private write(name: string, value: unknown): void {
    const path = join(this.dir, name);
    const temp = `${path}.tmp`;
    writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, path);
  }
}
