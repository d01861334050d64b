/**
 * Loads burrow_native, burrowd's packet I/O addon (C, N-API; sources beside this file, built by
 * `node-gyp rebuild` from the root package's install script, so `npm ci` builds it). Linux only.
 * helper/tun/linux-tun.ts and helper/bind/linux-bind.ts wrap it; nothing else should call it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AddonError, packagedDir, requireAddon } from '../../src/packaged.js';

/** Must equal BN_ABI_VERSION in common.h: a stale build/ is refused rather than misread. */
const ABI_VERSION = 6;

/** An opaque native handle (a napi external). */
export type NativeHandle = { readonly __brand: 'burrow-native-handle' };

/**
 * Receives a batch: `buffer` holds the payloads back to back, with a uint32 table at its end (see
 * linux-tun.ts / linux-bind.ts for the layouts). After an error (buffer undefined) reading has stopped.
 */
export type TunBatchCallback = (buffer: ArrayBuffer | undefined, count: number, error?: Error) => void;
export type UdpBatchCallback = (
  buffer: ArrayBuffer | undefined,
  count: number,
  hostsOrError: string[] | Error,
) => void;

export interface NativeTunStats {
  packetsRead: number;
  bytesRead: number;
  readBatches: number;
  packetsWritten: number;
  bytesWritten: number;
  /** Writes refused with EAGAIN/ENOBUFS (dropped). */
  writeDropped: number;
  /** Writes refused otherwise (EINVAL for a packet that is not IP, EIO while the link is down...). */
  writeErrors: number;
  lastWriteError?: string;
}

export interface NativeUdpStats {
  packetsReceived: number;
  bytesReceived: number;
  receiveBatches: number;
  receiveErrors: number;
  truncated: number;
  packetsSent: number;
  bytesSent: number;
  /** Datagrams dropped because the socket buffer was full (EAGAIN/ENOBUFS). */
  sendDropped: number;
  /** Datagrams the kernel refused (no route, EACCES from a prohibit route, EMSGSIZE...). */
  sendErrors: number;
  lastSendError?: string;
  lastReceiveError?: string;
}

/** The fast path engine's counters (helper/native/fp-napi.c). */
export interface NativeFastPathStats {
  attached: number;
  gso: number;
  tsoReads: number;
  txMalformed: number;
  txSlow: number;
  txDatagrams: number;
  gsoSends: number;
  rxSlow: number;
  tunWrites: number;
  groMerged: number;
  judged: number;
  flows: number;
  /** Handshake messages dropped unread past the engine's budget (a flood). */
  handshakesShed: number;
}

/** The kernel's answer to a route lookup (helper/native/route-get.c): a route, or its refusal. */
export type NativeRouteAnswer = NativeRoute | { error: string; message?: string };

/** A route as the kernel reports it: numbers as in <linux/rtnetlink.h>, addresses as text. */
export interface NativeRoute {
  family: 4 | 6;
  /** RTN_*: 1 unicast, 2 local, 6 blackhole, 7 unreachable, 8 prohibit, 9 throw... */
  type: number;
  table: number;
  protocol: number;
  scope: number;
  flags: number;
  dstLen: number;
  srcLen: number;
  dst?: string;
  src?: string;
  gateway?: string;
  prefsrc?: string;
  oif?: number;
  oifName?: string;
  metric?: number;
  mark?: number;
  uid?: number;
  multipath?: true;
  /** An error IPv6 keeps with the route ("EHOSTUNREACH"). */
  routeError?: string;
}

/** A policy rule as the kernel reports it (FRA_* attributes; absent ones are left out). */
export interface NativeRule {
  priority: number;
  /** FR_ACT_*: 1 to table, 2 goto, 3 nop, 6 blackhole, 7 unreachable, 8 prohibit. */
  action: number;
  table: number;
  /** FIB_RULE_INVERT is 2. */
  flags: number;
  tos: number;
  srcLen: number;
  dstLen: number;
  src?: string;
  dst?: string;
  fwmark?: number;
  fwmask?: number;
  iif?: string;
  oif?: string;
  suppressPrefixLength?: number;
  suppressIfgroup?: number;
  goto?: number;
  uidStart?: number;
  uidEnd?: number;
  sportStart?: number;
  sportEnd?: number;
  dportStart?: number;
  dportEnd?: number;
  ipProto?: number;
  l3mdev?: number;
  protocol?: number;
}

/** A fast path object with the memory C and JS share (helper/native/fp-core.h). */
export interface NativeShared {
  handle: NativeHandle;
  shared: Float64Array;
}

export interface NativeAddon {
  readonly abiVersion: number;
  tunOpen(name: string, batch: number, vnet: boolean): { handle: NativeHandle; name: string };
  tunStart(handle: NativeHandle, callback: TunBatchCallback): void;
  tunWrite(handle: NativeHandle, packets: readonly Uint8Array[]): number;
  tunStats(handle: NativeHandle): NativeTunStats;
  tunClose(handle: NativeHandle): void;
  udpOpen(
    port: number,
    fwmark: number,
    bufferSize: number,
    batch: number,
  ): { handle: NativeHandle; port: number; dualStack: boolean; receiveBuffer: number; sendBuffer: number };
  /**
   * A socket like udpOpen's bound to one address (IPv6 ones IPv6 only), unmarked. Missing from a
   * build older than it (the ABI did not change): callers fall back to node:dgram.
   */
  udpOpenAt?(
    address: string,
    port: number,
    bufferSize: number,
    batch: number,
  ): { handle: NativeHandle; port: number; dualStack: boolean; receiveBuffer: number; sendBuffer: number };
  udpStart(handle: NativeHandle, callback: UdpBatchCallback): void;
  /**
   * meta[i] = port | hostIndex << 16; returns how many datagrams the kernel took. With `ttl` (1..255)
   * they leave with that hop limit (IP_TTL / IPV6_HOPLIMIT), else the socket's.
   */
  udpSend(
    handle: NativeHandle,
    datas: readonly Uint8Array[],
    meta: Uint32Array,
    hosts: readonly string[],
    ttl?: number,
  ): number;
  udpStats(handle: NativeHandle): NativeUdpStats;
  /** SO_MARK on the socket from now on (0: none); throws (EPERM, ...) leaving the mark as it was. */
  udpSetMark(handle: NativeHandle, fwmark: number): void;
  udpClose(handle: NativeHandle): void;
  /** SO_PEERCRED of a connected unix socket. */
  peerCred(fd: number): { pid: number; uid: number; gid: number };
  /** sd_notify: `message` as one datagram to the unix socket `socket` ("@name": abstract). */
  sdNotify(socket: string, message: string): void;

  // Route lookups over netlink (helper/routing/route-get.ts is the one caller).
  /** `ip route get`: a route, or the kernel's refusal as data; throws if the lookup itself fails. */
  routeGet(
    dst: Uint8Array,
    src: Uint8Array | null,
    mark: number,
    uid: number | null,
    ipProto: number,
    sport: number,
    dport: number,
    fibMatch: boolean,
  ): NativeRouteAnswer;
  /** `ip rule show`: the policy rules of family 4 or 6, in the kernel's order. */
  routeRules(family: 4 | 6): NativeRule[];
  /** The request routeGet sends (for tests). */
  routeRequest(
    dst: Uint8Array,
    src: Uint8Array | null,
    mark: number,
    uid: number | null,
    ipProto: number,
    sport: number,
    dport: number,
    fibMatch: boolean,
    seq: number,
  ): Uint8Array;
  /** What routeGet makes of one received buffer: null if it holds no answer for `seq` (for tests). */
  routeParse(answer: Uint8Array, seq: number): NativeRouteAnswer | null;
  /** What routeRules makes of one received buffer of a dump (for tests). */
  ruleParse(
    answer: Uint8Array,
    seq: number,
    family: 4 | 6,
  ): { rules: NativeRule[]; done: boolean; error?: string };

  // The transport fast path (helper/fastpath/native-fast-path.ts is the one caller).
  fpCreate(
    limits: Float64Array,
    mtu: number,
    roaming: boolean,
    dualStack: boolean,
    layout: number,
  ): NativeShared;
  fpPeerAdd(core: NativeHandle): NativeShared & { slot: number };
  fpPeerRemove(core: NativeHandle, peer: NativeHandle): void;
  fpPeerEndpoint(core: NativeHandle, peer: NativeHandle, host: string | null, port: number): void;
  fpPeerSessions(
    core: NativeHandle,
    peer: NativeHandle,
    current: NativeHandle | null,
    next: NativeHandle | null,
  ): void;
  fpPeerDirect(
    core: NativeHandle,
    peer: NativeHandle,
    host: string | null,
    port: number,
    until: number,
  ): void;
  fpSetGated(core: NativeHandle, gated: boolean): void;
  fpFilterPasses(packet: Uint8Array): boolean;
  fpKeypairAdd(
    core: NativeHandle,
    peer: NativeHandle,
    localIndex: number,
    remoteIndex: number,
    initiator: boolean,
    created: number,
    sendKey: Uint8Array,
    recvKey: Uint8Array,
  ): NativeShared;
  fpKeypairRemove(core: NativeHandle, keypair: NativeHandle): void;
  fpReplayAccept(window: NativeHandle, counter: number, limit: number): boolean;
  fpReplayNew(): NativeHandle;
  fpReplayReset(window: NativeHandle): void;
  /** addrs: 16 bytes per route; meta: [bytes | cidr << 8, peer slot] per route. */
  fpSetRoutes(core: NativeHandle, addrs: Uint8Array, meta: Uint32Array): void;
  /** The sealed message, or -1 (punt) / -2 (dropped and counted). */
  fpSend(core: NativeHandle, packet: Uint8Array, now: number): Uint8Array | number;
  /** The inner packet to deliver, or -1 (punt) / -2 (handled: a keepalive or a counted drop). */
  fpReceive(
    core: NativeHandle,
    data: Uint8Array,
    host: string,
    port: number,
    now: number,
  ): Uint8Array | number;
  fpAttach(
    core: NativeHandle,
    tun: NativeHandle,
    udp: NativeHandle,
    timeOffset: number,
    gso: boolean,
    gro: boolean,
    callback: (
      rekeySlots: number[],
      judged: ArrayBuffer | undefined,
      judgedCount: number,
      judgedHosts: string[] | undefined,
      flows: ArrayBuffer | undefined,
      flowsCount: number,
    ) => void,
  ): { tso: boolean; gro: boolean };
  fpDetach(core: NativeHandle): void;
  fpStats(core: NativeHandle): NativeFastPathStats;
}

/**
 * Where the addon file is: the one place that knows. From a checkout it is build/Release under the
 * repository root; a packaged burrowd keeps it beside its executable (src/packaged.ts).
 */
export function addonPath(name = 'burrow_native'): string {
  const packaged = packagedDir();
  if (packaged !== undefined) return join(packaged, `${name}.node`);
  // This file runs from helper/native (through tsx) or from dist/helper/native (built).
  for (const up of ['../../', '../../../']) {
    const path = fileURLToPath(new URL(`${up}build/Release/${name}.node`, import.meta.url));
    if (existsSync(path)) return path;
  }
  return fileURLToPath(new URL(`../../build/Release/${name}.node`, import.meta.url));
}

/** What to do about a missing or stale addon: rebuild it in a checkout, reinstall a package. */
export function addonRemedy(): string {
  return packagedDir() === undefined
    ? 'run "npm ci" or "npm run install" (node-gyp rebuild)'
    : 'it ships beside the executable: reinstall Burrow';
}

/** The error for an addon file that is not there. */
export function missingAddon(name: string, path: string): AddonError {
  return new AddonError(
    packagedDir() === undefined
      ? `${name} is not built (${path} is missing): ${addonRemedy()}`
      : `${name} is missing (no ${path}): ${addonRemedy()}`,
  );
}

let loaded: NativeAddon | undefined;

/**
 * The addon, loaded on first use (so that importing the wrappers never fails by itself). Throws an
 * AddonError when it is missing, does not load or is stale.
 */
export function native(): NativeAddon {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    throw new AddonError(`burrow_native is Linux only (this is ${process.platform})`);
  }
  const path = addonPath();
  if (!existsSync(path)) throw missingAddon('burrow_native', path);
  let addon: NativeAddon;
  try {
    addon = requireAddon(path) as NativeAddon;
  } catch (error) {
    throw new AddonError(
      `burrow_native at ${path} does not load (${(error as Error).message}): ${addonRemedy()}`,
    );
  }
  if (addon.abiVersion !== ABI_VERSION) {
    throw new AddonError(
      `burrow_native at ${path} is stale (ABI ${addon.abiVersion}, expected ${ABI_VERSION}): ${addonRemedy()}`,
    );
  }
  loaded = addon;
  return addon;
}
