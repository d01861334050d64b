/**
 * Real WireGuard peers for interop tests and benchmarks, each inside a test namespace: Debian's
 * wireguard-go (2022) and the modern one (2025, with TUN and UDP offloads; vendored in test/peers),
 * both configured with `wg`, and burrowd in standalone mode from a wg-quick file.
 */

import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Netns, run, uniqueName, waitFor } from './netns.js';
import { BURROWD } from './programs.js';

export const REPO = resolve(import.meta.dirname, '../..');

/** The implementations the tests run as peers. */
export type PeerKind = 'burrowd' | 'wireguard-go' | 'wireguard-go-modern';

/** Which wireguard-go: Debian's package (v0.0.20220316), or the vendored modern build (test/peers/README.md). */
export type WireguardGoBuild = 'debian' | 'modern';

export const WIREGUARD_GO_MODERN = join(REPO, 'test/peers/wireguard-go-modern');
const WIREGUARD_GO_MODERN_SHA256 = '682205ebba8b6012f15ad049affb299e6f0cf7764d122de48ba314566230caa4';
let modernChecked = false;

/** The modern wireguard-go's path, once its sha256 is the one test/peers/README.md gives. */
export function wireguardGoModern(): string {
  if (!modernChecked) {
    const sha256 = createHash('sha256').update(readFileSync(WIREGUARD_GO_MODERN)).digest('hex');
    if (sha256 !== WIREGUARD_GO_MODERN_SHA256) {
      throw new Error(
        `${WIREGUARD_GO_MODERN} has sha256 ${sha256}, not ${WIREGUARD_GO_MODERN_SHA256} (test/peers/README.md)`,
      );
    }
    modernChecked = true;
  }
  return WIREGUARD_GO_MODERN;
}

export interface PeerSpec {
  publicKey: string;
  presharedKey?: string;
  endpoint?: string;
  allowedIps: string[];
  persistentKeepalive?: number;
}

export interface InterfaceSpec {
  privateKey: string;
  listenPort: number;
  addresses: string[];
  mtu?: number;
  /** More [Interface] lines, for burrowd's wg-quick file only (Table, DNS, hooks, ...). */
  interfaceLines?: string[];
  peers: PeerSpec[];
}

/** A wg-quick style file for `spec`. */
export function wgQuickConfig(spec: InterfaceSpec): string {
  const lines = ['[Interface]', `PrivateKey = ${spec.privateKey}`, `ListenPort = ${spec.listenPort}`];
  if (spec.addresses.length) lines.push(`Address = ${spec.addresses.join(', ')}`);
  lines.push(`MTU = ${spec.mtu ?? 1420}`, ...(spec.interfaceLines ?? []));
  for (const p of spec.peers) {
    lines.push('', '[Peer]', `PublicKey = ${p.publicKey}`);
    if (p.presharedKey) lines.push(`PresharedKey = ${p.presharedKey}`);
    if (p.endpoint) lines.push(`Endpoint = ${p.endpoint}`);
    lines.push(`AllowedIPs = ${p.allowedIps.join(', ')}`);
    if (p.persistentKeepalive) lines.push(`PersistentKeepalive = ${p.persistentKeepalive}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `wg setconf` format: the wg-quick file without Address and MTU. */
function setconfText(spec: InterfaceSpec): string {
  return wgQuickConfig(spec)
    .split('\n')
    .filter((l) => !/^(Address|MTU) =/.test(l))
    .join('\n');
}

export interface RunningPeer {
  iface: string;
  ns: Netns;
  process: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  output(): string;
}

function track(ns: Netns, iface: string, child: ChildProcess, cleanup: () => void): RunningPeer {
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    iface,
    ns,
    process: child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      cleanup();
      return code;
    },
  };
}

/**
 * Starts wireguard-go in `ns` (Debian's unless told `build: 'modern'`) and configures it like wg-quick
 * would (addresses, MTU, routes). Both builds put their UAPI socket in the shared /var/run/wireguard,
 * so each instance gets a unique interface name.
 */
export async function startWireguardGo(
  ns: Netns,
  spec: InterfaceSpec,
  options: { build?: WireguardGoBuild; env?: Record<string, string> } = {},
): Promise<RunningPeer> {
  const modern = options.build === 'modern';
  const iface = uniqueName(modern ? 'wgm' : 'wgo');
  const child = ns.spawn(modern ? wireguardGoModern() : 'wireguard-go', ['-f', iface], {
    env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', ...options.env },
  });
  const peer = track(ns, iface, child, () => undefined);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`wireguard-go exited with ${code}: ${peer.output()}`))),
  );
  exited.catch(() => undefined);
  await Promise.race([
    exited,
    waitFor(`wireguard-go ${iface} to start`, async () => existsSync(`/var/run/wireguard/${iface}.sock`)),
  ]);
  // A file, not /dev/stdin: Node's stdio pipes are sockets, which wg cannot fopen.
  const dir = mkdtempSync(join(tmpdir(), 'wggo-test-'));
  try {
    writeFileSync(join(dir, 'wg.conf'), setconfText(spec), { mode: 0o600 });
    await ns.exec('wg', ['setconf', iface, join(dir, 'wg.conf')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const a of spec.addresses) await ns.exec('ip', ['address', 'add', a, 'dev', iface]);
  await ns.exec('ip', ['link', 'set', iface, 'mtu', String(spec.mtu ?? 1420), 'up']);
  for (const p of spec.peers) {
    for (const cidr of p.allowedIps) {
      await ns.exec('ip', [cidr.includes(':') ? '-6' : '-4', 'route', 'replace', cidr, 'dev', iface]);
    }
  }
  return peer;
}

/** Starts `burrowd --wg-config` (support/programs.ts) in `ns`; resolves once its interface is up and `wg` can talk to it. */
export async function startBurrowd(
  ns: Netns,
  spec: InterfaceSpec,
  options: { env?: Record<string, string>; iface?: string } = {},
): Promise<RunningPeer> {
  const iface = options.iface ?? uniqueName('bwd');
  const dir = mkdtempSync(join(tmpdir(), 'burrowd-test-'));
  const file = join(dir, `${iface}.conf`);
  writeFileSync(file, wgQuickConfig(spec), { mode: 0o600 });
  const child = ns.spawn(BURROWD, ['--wg-config', file], {
    env: { ...process.env, ...options.env },
  });
  const peer = track(ns, iface, child, () => rmSync(dir, { recursive: true, force: true }));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`burrowd exited with ${code} while starting: ${peer.output()}`)),
    ),
  );
  exited.catch(() => undefined);
  try {
    await Promise.race([
      exited,
      waitFor(
        `burrowd ${iface} to come up`,
        async () => {
          const { stdout } = await ns.exec('wg', ['show', iface, 'listen-port']);
          return stdout.trim() !== '';
        },
        30_000,
        100,
      ),
    ]);
  } catch (error) {
    await peer.stop('SIGKILL');
    throw error;
  }
  return peer;
}

/** Starts a peer of `kind` in `ns` with `spec`. */
export function startPeer(
  kind: PeerKind,
  ns: Netns,
  spec: InterfaceSpec,
  options: { env?: Record<string, string> } = {},
): Promise<RunningPeer> {
  if (kind === 'burrowd') return startBurrowd(ns, spec, options);
  return startWireguardGo(ns, spec, {
    ...options,
    build: kind === 'wireguard-go-modern' ? 'modern' : 'debian',
  });
}

/** `wg show IFACE dump`, parsed: the interface line, then one line per peer. */
export async function wgDump(ns: Netns, iface: string) {
  const { stdout } = await ns.exec('wg', ['show', iface, 'dump']);
  const [head, ...rest] = stdout
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  return {
    privateKey: head![0]!,
    publicKey: head![1]!,
    listenPort: Number(head![2]),
    peers: rest.map((f) => ({
      publicKey: f[0]!,
      presharedKey: f[1]!,
      endpoint: f[2]!,
      allowedIps: f[3]!,
      latestHandshake: Number(f[4]),
      rx: Number(f[5]),
      tx: Number(f[6]),
      keepalive: f[7]!,
    })),
  };
}

export async function genKeyPair(): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = (await run('wg', ['genkey'])).stdout.trim();
  const publicKey = (await run('wg', ['pubkey'], { input: privateKey })).stdout.trim();
  return { privateKey, publicKey };
}
