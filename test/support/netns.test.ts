import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, link, Netns, run } from './netns.js';

afterAll(cleanupAll);

describe('test namespaces', () => {
  it('connects two namespaces with veth, and removes everything on destroy', async () => {
    const a = await Netns.create('nsa');
    const b = await Netns.create('nsb');
    await link(a, ['192.0.2.1/24', 'fd00:2::1/64'], b, ['192.0.2.2/24', 'fd00:2::2/64']);
    // -w: keep asking for up to 3 s (a fresh veth's IPv6 can miss the very first echo under load).
    await a.exec('ping', ['-c', '1', '-w', '3', '192.0.2.2']);
    await a.exec('ping', ['-6', '-c', '1', '-w', '3', 'fd00:2::2']);
    const sleeper = b.spawn('sleep', ['600']);
    await a.destroy();
    await b.destroy();
    expect(sleeper.killed || sleeper.exitCode !== null || sleeper.signalCode !== null).toBe(true);
    const { stdout } = await run('ip', ['netns', 'list']);
    expect(stdout).not.toContain(a.name);
    expect(stdout).not.toContain(b.name);
  });

  it('gives every namespace a resolv.conf of its own, so a burrowd in it never changes the host’s', async () => {
    const host = readFileSync('/etc/resolv.conf');
    const ns = await Netns.create('nsr');
    await ns.exec('sh', ['-c', 'echo "nameserver 100.100.100.100" > /etc/resolv.conf']);
    expect((await ns.exec('cat', ['/etc/resolv.conf'])).stdout).toBe('nameserver 100.100.100.100\n');
    expect(readFileSync('/etc/resolv.conf')).toEqual(host);
    await ns.destroy();
  });
});
