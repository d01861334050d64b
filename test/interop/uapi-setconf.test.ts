/**
 * `wg setconf` as WireGuard users run it, against burrowd and, for parity, against Debian's
 * wireguard-go and the modern one: a file with 130,000 allowed IPs (a request of some 3.6 MB, over
 * what burrowd once took), and a file of peers only, without PrivateKey, for which wg sends an
 * all-zero private key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, Netns } from '../support/netns.js';
import { genKeyPair, type PeerKind, type RunningPeer, startPeer } from '../support/wg-peers.js';

const dirs: string[] = [];
afterEach(async () => {
  await cleanupAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 60_000);

async function start(kind: PeerKind): Promise<{ ns: Netns; peer: RunningPeer }> {
  const ns = await Netns.create('wsc');
  const self = await genKeyPair();
  const other = await genKeyPair();
  const peer = await startPeer(kind, ns, {
    privateKey: self.privateKey,
    listenPort: 51820,
    addresses: ['10.9.0.1/24'],
    peers: [{ publicKey: other.publicKey, allowedIps: ['10.9.0.2/32'] }],
  });
  return { ns, peer };
}

/** Writes a setconf file (0600, as wg wants) and returns its path. */
function confFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wg-setconf-'));
  dirs.push(dir);
  const path = join(dir, 'wg.conf');
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

const COUNT = 130_000;

/** 172.16.0.0 + i as a /32: 130,000 distinct host routes outside the tunnel's 10.9.0.0/24. */
const host = (i: number) => `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;

describe.each<PeerKind>(['burrowd', 'wireguard-go', 'wireguard-go-modern'])(
  'wg setconf against %s',
  (kind) => {
    it(`takes a file with ${COUNT} allowed IPs`, async () => {
      const { ns, peer } = await start(kind);
      const keys = await genKeyPair();
      const target = await genKeyPair();
      const lines = ['[Interface]', `PrivateKey = ${keys.privateKey}`, 'ListenPort = 51830', '', '[Peer]'];
      lines.push(`PublicKey = ${target.publicKey}`, 'Endpoint = 192.0.2.2:51821');
      for (let i = 0; i < COUNT; i += 1000) {
        const chunk = Array.from({ length: Math.min(1000, COUNT - i) }, (_, j) => host(i + j));
        lines.push(`AllowedIPs = ${chunk.join(', ')}`);
      }
      const path = confFile(`${lines.join('\n')}\n`);

      await ns.exec('wg', ['setconf', peer.iface, path], { timeout: 120_000 });
      const shown = (await ns.exec('wg', ['show', peer.iface, 'allowed-ips'])).stdout.trim().split('\n');
      expect(shown).toHaveLength(1);
      const [publicKey, ips] = shown[0]!.split('\t');
      expect(publicKey).toBe(target.publicKey);
      const allowed = ips!.split(' ');
      expect(allowed).toHaveLength(COUNT);
      expect(new Set(allowed)).toEqual(new Set(Array.from({ length: COUNT }, (_, i) => host(i))));
      expect((await ns.exec('wg', ['show', peer.iface, 'listen-port'])).stdout).toBe('51830\n');
      if (kind === 'burrowd') {
        // burrowd routes the peer's prefixes itself (table 52): all of them, and nothing else.
        const routes = (await ns.exec('ip', ['-4', 'route', 'show', 'table', '52'])).stdout
          .trim()
          .split('\n');
        expect(routes).toHaveLength(COUNT);
      }
    }, 180_000);

    it('takes a file of peers only, without PrivateKey: the interface then has no key', async () => {
      const { ns, peer } = await start(kind);
      const a = await genKeyPair();
      const b = await genKeyPair();
      const path = confFile(
        ['[Peer]', `PublicKey = ${a.publicKey}`, 'AllowedIPs = 10.9.0.2/32', 'Endpoint = 192.0.2.2:51821']
          .concat(['', '[Peer]', `PublicKey = ${b.publicKey}`, 'AllowedIPs = 10.9.0.3/32', ''])
          .join('\n'),
      );
      await ns.exec('wg', ['setconf', peer.iface, path]);
      expect((await ns.exec('wg', ['show', peer.iface, 'private-key'])).stdout).toBe('(none)\n');
      expect((await ns.exec('wg', ['show', peer.iface, 'public-key'])).stdout).toBe('(none)\n');
      expect((await ns.exec('wg', ['show', peer.iface, 'peers'])).stdout.trim().split('\n').sort()).toEqual(
        [a.publicKey, b.publicKey].sort(),
      );

      // A key set afterwards is the interface's key again.
      const keys = await genKeyPair();
      await ns.exec('wg', ['set', peer.iface, 'private-key', confFile(`${keys.privateKey}\n`)]);
      expect((await ns.exec('wg', ['show', peer.iface, 'public-key'])).stdout).toBe(`${keys.publicKey}\n`);
    }, 60_000);
  },
);
