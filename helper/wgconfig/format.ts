import { endpointText } from '../../src/wireguard/actions.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import type { WgConfig } from './types.js';

/**
 * Prints a config in wg-quick syntax that parseWgConfig reads back to the same config. Prefixes are
 * printed as they were written (Cidr.text), so an Address keeps its host bits.
 */
export function formatWgConfig(config: WgConfig): string {
  const { interface: iface, peers } = config;
  const lines = ['[Interface]', `PrivateKey = ${encodeKey(iface.privateKey)}`];
  if (iface.listenPort !== undefined) lines.push(`ListenPort = ${iface.listenPort}`);
  if (iface.addresses.length > 0) lines.push(`Address = ${iface.addresses.map((a) => a.text).join(', ')}`);
  if (iface.mtu !== undefined) lines.push(`MTU = ${iface.mtu}`);
  if (iface.dns.length > 0) lines.push(`DNS = ${iface.dns.join(', ')}`);
  if (iface.table !== undefined) lines.push(`Table = ${iface.table}`);
  if (iface.fwMark !== undefined) lines.push(`FwMark = ${iface.fwMark === 0 ? 'off' : iface.fwMark}`);
  if (iface.saveConfig !== undefined) lines.push(`SaveConfig = ${iface.saveConfig}`);
  const hooks = {
    PreUp: iface.preUp,
    PostUp: iface.postUp,
    PreDown: iface.preDown,
    PostDown: iface.postDown,
  };
  for (const [key, commands] of Object.entries(hooks)) {
    for (const command of commands ?? []) lines.push(`${key} = ${command}`);
  }
  for (const peer of peers) {
    lines.push('', '[Peer]', `PublicKey = ${encodeKey(peer.publicKey)}`);
    if (peer.presharedKey !== undefined) lines.push(`PresharedKey = ${encodeKey(peer.presharedKey)}`);
    if (peer.allowedIps.length > 0)
      lines.push(`AllowedIPs = ${peer.allowedIps.map((a) => a.text).join(', ')}`);
    if (peer.endpoint !== undefined) lines.push(`Endpoint = ${endpointText(peer.endpoint)}`);
    if (peer.persistentKeepalive !== undefined) {
      lines.push(
        `PersistentKeepalive = ${peer.persistentKeepalive === 0 ? 'off' : peer.persistentKeepalive}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
