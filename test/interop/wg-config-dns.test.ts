/**
 * wg-quick's `DNS =` in `burrowd --wg-config FILE`, on a system without systemd-resolved: the
 * namespace's own /etc/resolv.conf (/etc/netns/NAME/resolv.conf, bind-mounted by `ip netns exec`:
 * the host's is never touched) gets the servers and search domains while the interface is up, and
 * its exact earlier bytes back when burrowd stops, also when the stop comes from the next start
 * after a `kill -9`. Peer: Debian's wireguard-go (support/standalone-lab.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot } from '../support/netns.js';
import { cleanupLabs, standaloneLab } from '../support/standalone-lab.js';

afterEach(cleanupLabs, 60_000);

/** What was there before: no final newline, a CR and a byte that is not UTF-8, kept exactly. */
const ORIGINAL = Buffer.from("# the namespace's own\r\nnameserver 192.0.2.53\noptions edns0\n\xfe", 'latin1');

async function lab() {
  const l = await standaloneLab({ interfaceLines: ['DNS = 10.9.0.53, fd09::53 corp.example'] });
  return { ...l, resolvConf: l.nsA.writeResolvConf(ORIGINAL) };
}

/** The resolver configuration programs in the namespace read, without burrowd's marker line. */
async function seen(l: Awaited<ReturnType<typeof lab>>): Promise<string[]> {
  const { stdout } = await l.nsA.exec('cat', ['/etc/resolv.conf']);
  return stdout.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

const backups = (l: Awaited<ReturnType<typeof lab>>) => readdirSync(join(l.stateDir, 'dns'));

describe.skipIf(!isRoot())('burrowd --wg-config: DNS', () => {
  it('sets the servers and search domains while up; SIGTERM gives back the exact earlier bytes', async () => {
    const l = await lab();
    const burrowd = await l.start();
    expect(await seen(l)).toEqual(['nameserver 10.9.0.53', 'nameserver fd09::53', 'search corp.example']);
    expect(backups(l)).toHaveLength(1);
    expect(await burrowd.stop()).toBe(0);
    expect(readFileSync(l.resolvConf)).toEqual(ORIGINAL);
    expect(backups(l)).toEqual([]);
  }, 60_000);

  it('after kill -9, the next start puts the earlier file back and sets DNS again; its stop gives back the exact earlier bytes', async () => {
    const l = await lab();
    const killed = await l.start();
    await killed.stop('SIGKILL');
    expect(await seen(l)).toContain('nameserver 10.9.0.53');

    const next = await l.start();
    expect(next.output()).toMatch(/put back what was there before burrowd pid \d+ \(bwl/);
    expect(await seen(l)).toEqual(['nameserver 10.9.0.53', 'nameserver fd09::53', 'search corp.example']);
    expect(backups(l)).toHaveLength(1);
    expect(await l.pings()).toBe(true);
    expect(await next.stop()).toBe(0);
    expect(readFileSync(l.resolvConf)).toEqual(ORIGINAL);
    expect(backups(l)).toEqual([]);
  }, 60_000);

  it('a start without DNS also puts back what a killed burrowd left', async () => {
    const l = await lab();
    await (await l.start()).stop('SIGKILL');
    const text = readFileSync(l.file, 'utf8').replace(/^DNS = .*\n/m, '');
    await l.nsA.exec('sh', ['-c', 'printf "%s" "$2" > "$1"', 'sh', l.file, text]);
    const next = await l.start();
    expect(readFileSync(l.resolvConf)).toEqual(ORIGINAL);
    expect(await next.stop()).toBe(0);
    expect(readFileSync(l.resolvConf)).toEqual(ORIGINAL);
  }, 60_000);
});
