/**
 * burrowd says when its interface carries traffic, and only then: `burrowd --wg-config FILE
 * --daemon` returns (as wireguard-go and wg-quick do), and under systemd (Type=notify) it sends
 * READY=1 to NOTIFY_SOCKET. Either way a script that pings at once gets its first ping answered.
 * The mesh node sends READY=1 once its LocalAPI answers. The peer is Debian's wireguard-go; the daemon, which outlives the command, is stopped by the
 * namespace's process list.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, link, Netns, run, uniqueName, waitFor } from '../support/netns.js';
import { BURROW, BURROWD } from '../support/programs.js';
import { genKeyPair, type InterfaceSpec, startWireguardGo, wgQuickConfig } from '../support/wg-peers.js';

const dirs: string[] = [];
const daemons: Netns[] = [];
const receivers: ChildProcess[] = [];

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
  for (const receiver of receivers.splice(0)) receiver.kill();
  await cleanupAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** nsA (burrowd's, from the returned file, not started) and nsB (Debian's wireguard-go, running) on a veth. */
async function topology() {
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
  return { nsA, iface, file, dir };
}

describe.skipIf(!isRoot())('burrowd --wg-config FILE', () => {
  it('shows its interface only once it carries traffic: a script that waits for the interface pings at once, and is answered', async () => {
    const { nsA, iface, file } = await topology();
    // What a script does that knows nothing of burrowd: wait for the interface, then use it.
    const script = `until ip link show "$1" >/dev/null 2>&1; do :; done; ping -c 1 -W 5 10.9.0.2`;
    const waiter = nsA.exec('sh', ['-c', script, 'sh', iface], { timeout: 60_000 });
    nsA.spawn(BURROWD, ['--wg-config', file]);
    const { stdout } = await waiter;
    expect(stdout).toContain('1 packets transmitted, 1 received');
  });
});

describe.skipIf(!isRoot())('burrowd --wg-config FILE --daemon', () => {
  it('returns once the interface carries traffic: a script pings at once, and the first ping is answered', async () => {
    const { nsA, iface, file } = await topology();
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

/**
 * systemd's side of sd_notify: a unix datagram socket, as /run/systemd/notify, that keeps the first
 * message (Node has no unix datagram sockets: Python's).
 */
async function notifySocket(dir: string) {
  const path = join(dir, 'notify');
  const receiver = spawn('/usr/bin/python3', [
    '-c',
    'import socket, sys\n' +
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n' +
      's.bind(sys.argv[1])\n' +
      'print("listening", flush=True)\n' +
      'print(s.recv(4096).decode().strip(), flush=True)\n',
    path,
  ]);
  receivers.push(receiver);
  let heard = '';
  receiver.stdout.on('data', (chunk) => {
    heard += chunk;
  });
  await waitFor('the notify socket', async () => heard.includes('listening'));
  return {
    path,
    /** The message, once one has come. */
    message: () => heard.split('\n')[1] || undefined,
  };
}

describe.skipIf(!isRoot())('burrowd under systemd (Type=notify)', () => {
  it('standalone: sends READY=1 to NOTIFY_SOCKET once the interface carries traffic, and the first ping after it is answered', async () => {
    const { nsA, file, dir } = await topology();
    const notify = await notifySocket(dir);
    nsA.spawn(BURROWD, ['--wg-config', file], { env: { ...process.env, NOTIFY_SOCKET: notify.path } });
    expect(await waitFor('READY=1', async () => notify.message(), 30_000, 5)).toBe('READY=1');
    const { stdout } = await nsA.exec('ping', ['-c', '1', '-W', '5', '10.9.0.2']);
    expect(stdout).toContain('1 packets transmitted, 1 received');
  });

  it('mesh node: sends READY=1 once its LocalAPI answers', async () => {
    const ns = await Netns.create('wpa');
    const dir = mkdtempSync(join(tmpdir(), 'burrowd-ready-'));
    dirs.push(dir);
    const notify = await notifySocket(dir);
    const socket = join(dir, 'burrowd.sock');
    ns.spawn(BURROWD, ['--state-dir', join(dir, 'state'), '--socket', socket, '--tun', 'burrow0'], {
      env: { ...process.env, NOTIFY_SOCKET: notify.path },
    });
    expect(await waitFor('READY=1', async () => notify.message(), 60_000, 5)).toBe('READY=1');
    await ns.exec(BURROW, ['--socket', socket, 'status', '--json']);
  });
});
