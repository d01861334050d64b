/**
 * wg-quick's SaveConfig: on the way down, the running config goes back into the file it came from,
 * as `wg-quick down` writes it: the interface's key, port, mark and peers as they are now (endpoints
 * and allowed IPs included, with whatever `wg set` changed), and the file's own Address, DNS, MTU,
 * Table, SaveConfig and hooks. Atomically: a temporary file in the same directory, mode 0600, given
 * the old file's owner, synced, then renamed over it.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatAddr } from '../../src/packet/ip-text.js';
import type { UapiState } from '../uapi/protocol.js';
import { formatWgConfig } from './format.js';
import type { WgConfig, WgInterfaceConfig, WgPeerConfig } from './types.js';

/** The running config: `state` (what `wg showconf` would print) with the file's wg-quick keys. */
export function runningConfig(state: UapiState, file: WgInterfaceConfig): WgConfig {
  const peers = state.peers.map((peer): WgPeerConfig => {
    const out: WgPeerConfig = {
      publicKey: peer.publicKey,
      allowedIps: peer.allowedIps.map(({ addr, cidr }) => ({
        addr,
        cidr,
        family: addr.length === 4 ? 4 : 6,
        text: `${formatAddr(addr)}/${cidr}`,
      })),
    };
    if (peer.presharedKey.some((b) => b !== 0)) out.presharedKey = peer.presharedKey;
    if (peer.endpoint) out.endpoint = { host: peer.endpoint.host, port: peer.endpoint.port };
    if (peer.persistentKeepaliveInterval > 0) out.persistentKeepalive = peer.persistentKeepaliveInterval;
    return out;
  });
  const iface: WgInterfaceConfig = {
    ...file,
    // A key removed with `wg set` would leave a file burrowd cannot read: the file's own stays.
    privateKey: state.privateKey ?? file.privateKey,
    listenPort: state.listenPort || undefined,
    fwMark: state.fwmark || undefined,
  };
  return { interface: iface, peers };
}

/** Writes `config` to `path` atomically, mode 0600, owned by `uid`:`gid`. */
export async function saveWgConfig(path: string, config: WgConfig, owner: { uid: number; gid: number }) {
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(formatWgConfig(config));
    await handle.chown(owner.uid, owner.gid);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
