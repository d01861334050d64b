/**
 * wg-quick's `SaveConfig = true` in `burrowd --wg-config FILE`: on the way down the running config
 * goes back into the file, as `wg-quick down` writes it (a peer added with `wg set` included, with
 * its endpoint and allowed IPs; Address, DNS, hooks and SaveConfig kept), atomically, mode 0600,
 * its owner kept; and the next start from that file brings the same interface back.
 * Peer: Debian's wireguard-go (support/standalone-lab.ts).
 */
import { chownSync, readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWgConfig } from '../../helper/wgconfig/parse.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import { isRoot } from '../support/netns.js';
import { cleanupLabs, standaloneLab } from '../support/standalone-lab.js';
import { genKeyPair, wgDump } from '../support/wg-peers.js';

afterEach(cleanupLabs, 60_000);

describe.skipIf(!isRoot())('burrowd --wg-config: SaveConfig = true', () => {
  it('writes a peer added with wg set back into the file on the way down, and starts again from it', async () => {
    const lab = await standaloneLab({
      interfaceLines: ['SaveConfig = true', 'PostDown = echo %i went down'],
    });
    chownSync(lab.file, 0, 65534);
    const inode = statSync(lab.file).ino;
    const burrowd = await lab.start();
    expect(await lab.pings()).toBe(true);
    const added = await genKeyPair();
    await lab.nsA.exec('wg', [
      'set',
      lab.iface,
      ...['peer', added.publicKey, 'allowed-ips', '10.9.0.3/32,fd09::3/128'],
      ...['endpoint', '192.0.2.3:51999', 'persistent-keepalive', '25'],
    ]);
    expect(await burrowd.stop()).toBe(0);

    const stat = statSync(lab.file);
    expect(stat.ino).not.toBe(inode); // a new file renamed over the old
    expect([stat.uid, stat.gid, stat.mode & 0o777]).toEqual([0, 65534, 0o600]);
    const saved = parseWgConfig(readFileSync(lab.file, 'utf8'), lab.file);
    expect(saved.interface.addresses.map((a) => a.text)).toEqual(['10.9.0.1/32']);
    expect(saved.interface.listenPort).toBe(51820);
    expect(saved.interface.saveConfig).toBe(true);
    expect(saved.interface.postDown).toEqual(['echo %i went down']);
    expect(encodeKey(saved.interface.privateKey)).toBe(lab.keys.a.privateKey);
    expect(
      saved.peers.map((p) => ({
        key: encodeKey(p.publicKey),
        ips: p.allowedIps.map((a) => a.text),
        endpoint: p.endpoint,
        keepalive: p.persistentKeepalive,
      })),
    ).toEqual([
      {
        key: lab.keys.b.publicKey,
        ips: ['10.9.0.2/32'],
        endpoint: { host: '192.0.2.2', port: 51821 },
        keepalive: undefined,
      },
      {
        key: added.publicKey,
        ips: ['10.9.0.3/32', 'fd09::3/128'],
        endpoint: { host: '192.0.2.3', port: 51999 },
        keepalive: 25,
      },
    ]);

    const again = await lab.start();
    expect((await wgDump(lab.nsA, lab.iface)).peers.map((p) => p.publicKey)).toEqual([
      lab.keys.b.publicKey,
      added.publicKey,
    ]);
    expect(await lab.pings()).toBe(true);
    expect(await again.stop()).toBe(0);
  }, 60_000);
});
