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
});
