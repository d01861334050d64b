/**
 * wg-quick's hooks in `burrowd --wg-config FILE`: PreUp, PostUp, PreDown and PostDown run by bash
 * with %i replaced by the interface name, in wg-quick's order (PreUp before the interface exists,
 * PostUp once it carries traffic and before burrowd says it is up, PreDown before anything is
 * removed, PostDown after everything is). A failing PreUp or PostUp undoes the start; a failing
 * PreDown is logged and the teardown goes on. And since they run as root, only from a file that
 * only root can change: anything else is refused before anything is set up.
 * Peer: Debian's wireguard-go (support/standalone-lab.ts).
 */
import { chmodSync, chownSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot, type Netns } from '../support/netns.js';
import { cleanupLabs, standaloneLab } from '../support/standalone-lab.js';

afterEach(cleanupLabs, 60_000);

/** Whether `iface` is in `ns`, and how many of Burrow's rules (5210-5270) are. */
const state = (iface: string) =>
  `$(ip link show ${iface} >/dev/null 2>&1 && echo link || echo no-link) rules=$(ip -4 rule show | grep -c '^52[0-9][0-9]:')`;

/** What is left in `ns` after burrowd: the interface, Burrow's rules, the UAPI socket. */
async function leftovers(ns: Netns, iface: string): Promise<string[]> {
  const left: string[] = [];
  if (
    await ns.exec('ip', ['link', 'show', iface]).then(
      () => true,
      () => false,
    )
  )
    left.push(iface);
  const rules = (await ns.exec('ip', ['-4', 'rule', 'show'])).stdout;
  left.push(...rules.split('\n').filter((line) => /^52\d\d:/.test(line)));
  if (existsSync(`/var/run/wireguard/${iface}.sock`)) left.push('UAPI socket');
  return left;
}

describe.skipIf(!isRoot())('burrowd --wg-config: PreUp, PostUp, PreDown, PostDown', () => {
  it('runs them in wg-quick’s order, %i as the interface, each key as often as given', async () => {
    const lab = await standaloneLab({
      interfaceLines: (dir) => {
        const log = join(dir, 'hooks.log');
        return [
          `PreUp = echo "preup %i ${state('%i')}" >> ${log}`,
          `PostUp = echo "postup %i ${state('%i')} $(ping -c 1 -W 3 10.9.0.2 >/dev/null && echo answered)" >> ${log}`,
          `PostUp = echo "postup again" >> ${log}`,
          `PreDown = echo "predown %i ${state('%i')}" >> ${log}`,
          `PostDown = echo "postdown %i ${state('%i')}" >> ${log}`,
        ];
      },
    });
    const log = join(lab.dir, 'hooks.log');
    const iface = lab.iface;
    const burrowd = await lab.start();
    // burrowd said it was up only after PostUp had run.
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual([
      `preup ${iface} no-link rules=0`,
      `postup ${iface} link rules=4 answered`,
      'postup again',
    ]);
    expect(await burrowd.stop()).toBe(0);
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean).slice(3)).toEqual([
      `predown ${iface} link rules=4`,
      `postdown ${iface} no-link rules=0`,
    ]);
  }, 60_000);

  it('--daemon returns only after PostUp has run, even a slow one', async () => {
    const lab = await standaloneLab({
      interfaceLines: (dir) => [`PostUp = sleep 1; echo postup %i >> ${join(dir, 'hooks.log')}`],
    });
    const daemon = await lab.daemon();
    expect(readFileSync(join(lab.dir, 'hooks.log'), 'utf8')).toBe(`postup ${lab.iface}\n`);
    await daemon.stop();
    expect(await leftovers(lab.nsA, lab.iface)).toEqual([]);
  }, 60_000);

  it('SIGTERM during a slow PostUp: it comes up, then goes down cleanly through PostDown', async () => {
    const lab = await standaloneLab({
      interfaceLines: (dir) => [
        `PostUp = sleep 1; echo postup >> ${join(dir, 'hooks.log')}`,
        `PostDown = echo postdown >> ${join(dir, 'hooks.log')}`,
      ],
    });
    const burrowd = await lab.start([], 'PostUp: [#]');
    expect(await burrowd.stop('SIGTERM')).toBe(0);
    expect(readFileSync(join(lab.dir, 'hooks.log'), 'utf8')).toBe('postup\npostdown\n');
    expect(await leftovers(lab.nsA, lab.iface)).toEqual([]);
  }, 60_000);

  it('a failing PostUp undoes the start: exit 1 naming the hook and its status, nothing left, no PreDown or PostDown', async () => {
    const lab = await standaloneLab({
      interfaceLines: (dir) => [
        `PostUp = echo postup >> ${join(dir, 'hooks.log')}; exit 3`,
        `PreDown = echo predown >> ${join(dir, 'hooks.log')}`,
        `PostDown = echo postdown >> ${join(dir, 'hooks.log')}`,
      ],
    });
    await expect(lab.start()).rejects.toThrow(
      /exited with 1 while starting: .*PostUp hook failed \(exit status 3\): echo postup >> \S+; exit 3/s,
    );
    expect(readFileSync(join(lab.dir, 'hooks.log'), 'utf8')).toBe('postup\n');
    expect(await leftovers(lab.nsA, lab.iface)).toEqual([]);
  }, 60_000);

  it('a failing PreUp: exit 1 naming it, and the interface is never made', async () => {
    const lab = await standaloneLab({
      interfaceLines: (dir) => ['PreUp = test -e /nonexistent', `PostUp = touch ${join(dir, 'post-up-ran')}`],
    });
    await expect(lab.start()).rejects.toThrow(
      /exited with 1 while starting: .*PreUp hook failed \(exit status 1\): test -e \/nonexistent/s,
    );
    expect(existsSync(join(lab.dir, 'post-up-ran'))).toBe(false);
    expect(await leftovers(lab.nsA, lab.iface)).toEqual([]);
  }, 60_000);

  it('a failing PreDown is logged, and the teardown and PostDown go on', async () => {
    const lab = await standaloneLab({
      interfaceLines: (dir) => [
        'PreDown = false',
        `PostDown = echo postdown %i >> ${join(dir, 'hooks.log')}`,
      ],
    });
    const burrowd = await lab.start();
    expect(await burrowd.stop()).toBe(0);
    expect(burrowd.output()).toContain('PreDown hook failed (exit status 1): false');
    expect(readFileSync(join(lab.dir, 'hooks.log'), 'utf8')).toBe(`postdown ${lab.iface}\n`);
    expect(await leftovers(lab.nsA, lab.iface)).toEqual([]);
  }, 60_000);
});

describe.skipIf(!isRoot())('burrowd --wg-config: hooks only from a file only root can change', () => {
  it.each([
    ['owned by another user (uid 65534)', 65534, 0o600, 'uid 65534 with mode 0600'],
    ['writable by everyone (mode 0666)', 0, 0o666, 'uid 0 with mode 0666'],
    ['writable by its group (mode 0620)', 0, 0o620, 'uid 0 with mode 0620'],
  ])(
    'a file %s is refused: exit 2, no hook runs, nothing is set up',
    async (_, uid, mode, said) => {
      const lab = await standaloneLab({
        interfaceLines: (dir) => [
          `PreUp = touch ${join(dir, 'pwned-pre')}`,
          `PostUp = touch ${join(dir, 'pwned-post')}`,
        ],
      });
      chownSync(lab.file, uid, uid);
      chmodSync(lab.file, mode);
      const error = await lab.start().catch((e: Error) => e);
      expect(String(error)).toContain('exited with 2 while starting');
      expect(String(error)).toContain(
        `${lab.file}: refused: it has PreUp, PostUp (commands burrowd runs as root), but it is owned by ${said}, ` +
          'and hooks run as root only from a file owned by root and writable by no one else',
      );
      expect(existsSync(join(lab.dir, 'pwned-pre'))).toBe(false);
      expect(existsSync(join(lab.dir, 'pwned-post'))).toBe(false);
      expect(await leftovers(lab.nsA, lab.iface)).toEqual([]);

      // The same file without hooks is taken, whoever owns it: only hooks need the file to be root's.
      const lines = readFileSync(lab.file, 'utf8')
        .split('\n')
        .filter((l) => !/^(Pre|Post)Up =/.test(l));
      await lab.nsA.exec('sh', ['-c', 'printf "%s" "$2" > "$1"', 'sh', lab.file, lines.join('\n')]);
      const burrowd = await lab.start();
      expect(await burrowd.stop()).toBe(0);
    },
    60_000,
  );
});
