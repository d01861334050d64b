/**
 * `burrowd --wg-config FILE --daemon` returns only once its interface carries traffic, as
 * wireguard-go and wg-quick do: a script that starts it and pings at once gets its first ping
 * answered. The peer is Debian's wireguard-go; the daemon, which outlives the command, is stopped
 * by the namespace's process list.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, link, Netns, run, uniqueName, waitFor } from '../support/netns.js';
import { BURROWD } from '../support/programs.js';
import { genKeyPair, type InterfaceSpec, startWireguardGo, wgQuickConfig } from '../support/wg-peers.js';

const dirs: string[] = [];
const daemons: Netns[] = [];

/** Stops every process left in `ns` (the daemon runs in its own session, outside any test's tracking). */
async function stopAll(ns: Netns): Promise<void> {
  const pids = async () => (await run('ip', ['netns', 'pids', ns.name])).stdout.split(/\s+/).filter(Boolean);
  for (const pid of await pids()) {
    try {
      process.kill(Number(pid), 'SIGTERM');
    } catch {
      // gone already
    }
  }
  await waitFor('the daemon to stop', async () => (await pids()).length === 0, 10_000);
}

afterEach(async () => {
  for (const ns of daemons.splice(0)) await stopAll(ns).catch(() => undefined);
  await cleanupAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!isRoot())('burrowd --wg-config FILE --daemon', () => {
  it('returns once the interface carries traffic: a script pings at once, and the first ping is answered', async () => {
    const nsA = await Netns.create('wpa');
    const nsB = await Netns.create('wpb');
    await link(nsA, ['192.0.2.1/24'], nsB, ['192.0.2.2/24']);
    const keys = { a: await genKeyPair(), b: await genKeyPair() };
    const spec = (self: typeof keys.a, peer: typeof keys.a, me: number, other: number): InterfaceSpec => ({
      privateKey: self.privateKey,
      listenPort: 51819 + me,
      addresses: [`10.9.0.${me}/24`],
      peers: [
        {
          publicKey: peer.publicKey,
          endpoint: `192.0.2.${other}:${51819 + other}`,
          allowedIps: [`10.9.0.${other}/32`],
        },
      ],
    });
    await startWireguardGo(nsB, spec(keys.b, keys.a, 2, 1));
    const dir = mkdtempSync(join(tmpdir(), 'burrowd-daemon-'));
    dirs.push(dir);
    const iface = uniqueName('bwd');
    const file = join(dir, `${iface}.conf`);
    writeFileSync(file, wgQuickConfig(spec(keys.a, keys.b, 1, 2)), { mode: 0o600 });

    daemons.push(nsA);
    // What a script does: start it, then use it.
    const script = `"$1" --wg-config "$2" --daemon && ping -c 1 -W 5 10.9.0.2`;
    const { stdout } = await nsA.exec('sh', ['-c', script, 'sh', BURROWD, file], { timeout: 60_000 });
    expect(stdout).toContain('1 packets transmitted, 1 received');

    // The daemon stops on SIGTERM and takes its interface with it.
    await stopAll(nsA);
    await expect(nsA.exec('ip', ['link', 'show', iface])).rejects.toThrow(/does not exist/);
  });

  it('fails with burrowd’s reason and exit code when the interface cannot come up', async () => {
    const ns = await Netns.create('wpa');
    const dir = mkdtempSync(join(tmpdir(), 'burrowd-daemon-'));
    dirs.push(dir);
    const file = join(dir, 'bad.conf');
    writeFileSync(file, '[Interface]\nPrivateKey = not-a-key\n', { mode: 0o600 });
    daemons.push(ns);
    const error = await ns.exec(BURROWD, ['--wg-config', file, '--daemon']).catch((e: Error) => e);
    expect(String(error)).toMatch(/PrivateKey/);
    expect(String(error)).toMatch(/exited before its interface was up \(exit code 2\)/);
  });
});
