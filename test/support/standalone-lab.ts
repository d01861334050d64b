/**
 * `burrowd --wg-config FILE` against a real peer, for the tests of what a wg-quick file asks of it
 * (Table, FwMark, DNS, SaveConfig, hooks): namespace A, where burrowd runs from a file the test
 * shapes, and namespace B, running wireguard-go (Debian's or the modern one), joined by a veth
 * (192.0.2.1 and .2). Tunnel addresses 10.9.0.1/32 (A) and 10.9.0.2/24 (B), so that nothing but the
 * peer's own route (A's AllowedIPs) reaches B's tunnel address: whether A routes it is the test.
 * Everything is removed by `cleanupLabs` (call it from afterEach).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, link, Netns, run, uniqueName, waitFor } from './netns.js';
import { BURROWD } from './programs.js';
import {
  genKeyPair,
  type InterfaceSpec,
  startWireguardGo,
  type WireguardGoBuild,
  wgQuickConfig,
} from './wg-peers.js';

const dirs: string[] = [];
/** Namespaces where a `--daemon` burrowd may run: in its own session, outside Netns's tracking. */
const daemonNamespaces = new Set<Netns>();

/** The processes in `ns`. */
async function pidsIn(ns: Netns): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', ns.name]);
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

async function signalAll(ns: Netns, signal: NodeJS.Signals): Promise<void> {
  for (const pid of await pidsIn(ns).catch(() => [])) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

/** Removes everything the labs made: daemons, namespaces (support/netns.ts), files. Call from afterEach. */
export async function cleanupLabs(): Promise<void> {
  for (const ns of daemonNamespaces) await signalAll(ns, 'SIGKILL');
  daemonNamespaces.clear();
  await cleanupAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface LabOptions {
  build?: WireguardGoBuild;
  /** More [Interface] lines for burrowd's file; a function is given the lab's own directory. */
  interfaceLines?: string[] | ((dir: string) => string[]);
  /** burrowd's AllowedIPs for the peer (default 10.9.0.2/32). */
  allowedIps?: string[];
  /** Where burrowd finds the peer (default 192.0.2.2:51821). */
  endpoint?: string;
}

/** A running `burrowd --wg-config`. */
export interface Burrowd {
  process: ChildProcess;
  /** What it logged so far. */
  output(): string;
  /** Its exit code (null: killed by a signal), once it has exited. */
  exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function standaloneLab(options: LabOptions = {}) {
  const nsA = await Netns.create('sla');
  const nsB = await Netns.create('slb');
  const { aDev } = await link(nsA, ['192.0.2.1/24'], nsB, ['192.0.2.2/24']);
  const keys = { a: await genKeyPair(), b: await genKeyPair() };
  const peer = await startWireguardGo(
    nsB,
    {
      privateKey: keys.b.privateKey,
      listenPort: 51821,
      addresses: ['10.9.0.2/24'],
      peers: [{ publicKey: keys.a.publicKey, allowedIps: ['10.9.0.1/32'] }],
    },
    { build: options.build ?? 'debian' },
  );
  const dir = mkdtempSync(join(tmpdir(), 'burrowd-lab-'));
  dirs.push(dir);
  const iface = uniqueName('bwl');
  const file = join(dir, `${iface}.conf`);
  const spec: InterfaceSpec = {
    privateKey: keys.a.privateKey,
    listenPort: 51820,
    addresses: ['10.9.0.1/32'],
    interfaceLines:
      typeof options.interfaceLines === 'function' ? options.interfaceLines(dir) : options.interfaceLines,
    peers: [
      {
        publicKey: keys.b.publicKey,
        endpoint: options.endpoint ?? '192.0.2.2:51821',
        allowedIps: options.allowedIps ?? ['10.9.0.2/32'],
      },
    ],
  };
  writeFileSync(file, wgQuickConfig(spec), { mode: 0o600 });
  const stateDir = join(dir, 'state');

  /**
   * Starts burrowd from the file; resolves once it has logged `until` (by default, that it is up),
   * rejects if it exits first.
   */
  const start = async (args: string[] = [], until = ' up: '): Promise<Burrowd> => {
    const child = nsA.spawn(BURROWD, ['--wg-config', file, '--state-dir', stateDir, ...args]);
    let output = '';
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const burrowd: Burrowd = {
      process: child,
      output: () => output,
      exited,
      async stop(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
    const early = exited.then((code) => {
      throw new Error(`burrowd exited with ${code} while starting: ${output}`);
    });
    early.catch(() => undefined);
    await Promise.race([
      early,
      waitFor(`burrowd ${iface} to log "${until}"`, async () => output.includes(until), 30_000),
    ]);
    return burrowd;
  };

  /**
   * Runs `burrowd --wg-config FILE --daemon`, which returns once burrowd says it is ready; resolves
   * then, with a way to stop it (SIGTERM, then waits until no process is left in A).
   */
  const daemon = async () => {
    daemonNamespaces.add(nsA);
    await nsA.exec(BURROWD, ['--wg-config', file, '--state-dir', stateDir, '--daemon'], { timeout: 60_000 });
    return {
      stop: async () => {
        await signalAll(nsA, 'SIGTERM');
        await waitFor('the daemon to stop', async () => (await pidsIn(nsA)).length === 0, 10_000);
      },
    };
  };

  /** Whether a ping from A to B's tunnel address is answered. */
  const pings = async (): Promise<boolean> =>
    nsA.exec('ping', ['-c', '2', '-i', '0.2', '-W', '3', '10.9.0.2'], { timeout: 20_000 }).then(
      () => true,
      () => false,
    );

  return { nsA, nsB, aDev, keys, peer, dir, iface, file, stateDir, start, daemon, pings };
}
