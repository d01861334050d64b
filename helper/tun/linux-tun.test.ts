import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, Netns } from '../../test/support/netns.js';
import { interfaceDeleted, openTun } from './linux-tun.js';

/** The scenarios run in a child process inside a fresh namespace: see linux-tun.child.ts. */
const CHILD = fileURLToPath(new URL('./linux-tun.child.ts', import.meta.url));
const NAME = 'bt0';

afterEach(cleanupAll);

// biome-ignore lint/suspicious/noExplicitAny: JSON from the child, checked field by field below
async function scenario(name: string): Promise<{ ns: Netns; result: any }> {
  const ns = await Netns.create('tun');
  const { stdout } = await ns.exec('node', ['--import', 'tsx', CHILD, name, NAME], { timeout: 30_000 });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return { ns, result: JSON.parse(last) };
}

/** The child has exited: its TUN must be gone with it, leaving only lo. */
async function onlyLoopback(ns: Netns): Promise<string[]> {
  const { stdout } = await ns.exec('ip', ['-o', 'link', 'show']);
  return stdout
    .trim()
    .split('\n')
    .map((l) => l.split(':')[1]?.trim() ?? '');
}

describe('interfaceDeleted: which TUN errors mean the interface is gone', () => {
  const error = (code: string, syscall: string) => Object.assign(new Error(code), { code, syscall });
  it('the read’s EBADFD, and a failed poll (POLLERR: only a detached device), but no other error', () => {
    expect(interfaceDeleted(error('EBADFD', 'read'))).toBe(true);
    expect(interfaceDeleted(error('EBADF', 'poll'))).toBe(true);
    expect(interfaceDeleted(error('EBADF', 'read'))).toBe(false);
    expect(interfaceDeleted(error('EIO', 'read'))).toBe(false);
    expect(interfaceDeleted(new Error('TUN bt0: reading stopped'))).toBe(false);
  });
});

describe('openTun argument checks (no device is created)', () => {
  it('refuses a name longer than IFNAMSIZ allows, and names the limit', () => {
    expect(() => openTun('burrow-too-long-name')).toThrow(/at most 15 \(IFNAMSIZ 16/);
    expect(() => openTun('a/b')).toThrow(TypeError);
    expect(() => openTun(NAME, { batchSize: 0 })).toThrow(RangeError);
  });
});

describe.skipIf(!isRoot())('Linux TUN device (needs root: creates TUN devices in test namespaces)', () => {
  it('an ICMP echo request written to the TUN is answered by the kernel, and the reply is read back', async () => {
    const { ns, result } = await scenario('echo');
    expect(result.name).toBe(NAME);
    expect(result.reply).toEqual({
      type: 0,
      id: 0x4242,
      seq: 7,
      src: '192.0.2.1',
      dst: '192.0.2.2',
      payload: 'burrow tun echo test',
      checksumsValid: true,
    });
    expect(result.stats.packetsWritten).toBe(1);
    expect(result.stats.packetsRead).toBeGreaterThanOrEqual(1);
    expect(await onlyLoopback(ns)).toEqual(['lo']);
  });

  it('ping to an address routed into the TUN: requests arrive in the callback, answers written back reach ping', async () => {
    const { result } = await scenario('ping');
    expect(result.requests).toEqual([1, 2, 3]);
    expect(result.pingExit).toBe(0);
    expect(result.output).toContain('3 received');
  });

  it('500 packets written in one call come back as 500 replies, in fewer callbacks than packets', async () => {
    const { result } = await scenario('batch');
    expect(result.written).toBe(500);
    expect(result.replies).toBe(500);
    expect(result.bad).toBe(0);
    expect(result.callbacks).toBeLessThan(result.packets);
    expect(result.callbacks).toBeLessThanOrEqual(10); // batches of up to 128
    expect(result.stats.readBatches).toBe(result.callbacks);
    expect(result.stats.writeDropped).toBe(0);
  });

  it('keeps the process alive while reading; closing removes the interface and lets the process end', async () => {
    const { ns, result } = await scenario('close');
    expect(result.existedBefore).toBe(true);
    expect(result.after).toMatch(/does not exist/);
    expect(result.writeAfterClose.message).toMatch(/closed/);
    expect(await onlyLoopback(ns)).toEqual(['lo']);
  });

  it('deleting the interface under a reading device reports an error (not a crash or a busy loop)', async () => {
    const { ns, result } = await scenario('deleted');
    expect(result).toEqual({
      code: 'EBADFD',
      message: `read from TUN ${NAME} (the interface was deleted): File descriptor in bad state (EBADFD)`,
    });
    expect(await onlyLoopback(ns)).toEqual(['lo']);
  });

  it('bad input: clear errors, nothing written, no crash; a kernel-numbered name is reported', async () => {
    const { ns, result } = await scenario('bad');
    expect(result.tooLong.message).toMatch(/at most 15/);
    expect(result.slash.name).toBe('TypeError');
    expect(result.notArray).toMatchObject({ name: 'TypeError', message: expect.stringMatching(/array/) });
    expect(result.notBytes).toMatchObject({ name: 'TypeError', message: 'packets[1] is not a Uint8Array' });
    expect(result.wrongView).toMatchObject({ name: 'TypeError', message: 'packets[0] is not a Uint8Array' });
    // Nothing of a rejected call was written.
    expect(result.before.packetsWritten).toBe(0);
    expect(result.before.writeErrors).toBe(0);
    // A packet the kernel refuses is counted, not thrown.
    expect(result.garbage).toBe(0);
    expect(result.after).toMatchObject({ writeErrors: 1, lastWriteError: 'EINVAL' });
    expect(result.numberedName).toBe('btest0');
    expect(await onlyLoopback(ns)).toEqual(['lo']);
  });
});
