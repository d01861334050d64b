import { deviceNames } from '../../src/control/device-names.js';
import type { Netmap, NodeInfo } from '../../src/control/messages.js';
import type { BackendState, Prefs } from '../../src/localapi/api.js';
import { parseCidr } from '../../src/packet/ip-text.js';
import { containsAddress, parsePrefix } from '../../src/policy/prefix.js';
import type {
  DeliveryFacts,
  DestinationFacts,
  InsideFacts,
  PathFacts,
  PeerVerdictFacts,
  RouteFacts,
  TraceFacts,
  TraceProtocol,
  WireguardFacts,
} from '../../src/trace/facts.js';
import type { ProbeOutcome, ProbeQuestion } from '../../src/trace/pending-probes.js';
import { endpointText } from '../../src/wireguard/actions.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import type { Peer } from '../../src/wireguard/peer.js';
import type { PeerPathStatus } from '../paths/path-conn.js';
import { findPeer } from './mesh-status.js';
import { planMesh } from './peer-sync.js';
import type { Pong } from './pinger.js';

/** How long the stages that wait on the network wait. */
const HANDSHAKE_TIMEOUT_MS = 5000;
const PING_TIMEOUT_MS = 3000;
const DELIVERY_TIMEOUT_MS = 3000;
/** A handshake newer than this (WireGuard's REJECT_AFTER_TIME) means the session is live. */
const SESSION_LIFETIME_MS = 180_000;

/** What the tracer reads of the node and its tunnel, and how it sends. */
export interface TraceContext {
  netmap(): Netmap | null;
  prefs(): Prefs;
  backendState(): BackendState;
  /** Null while the tunnel is down. */
  tunnel(): {
    peerFor(addr: Uint8Array): Peer | undefined;
    handshake(peer: Peer): void;
    pathOf(nodeKey: string): PeerPathStatus | null;
  } | null;
  /** Stage 2, the kernel's route for the packet to `ip`. */
  route(ip: string): Promise<RouteFacts>;
  /** MagicDNS: the addresses burrowd's resolver answers for a name, or null if it is not running. */
  resolve(name: string): Promise<string[] | null>;
  ping(src: string, dst: string, timeoutMs: number): Promise<Pong | null>;
  probe(question: ProbeQuestion): Promise<ProbeOutcome>;
  deliver(
    protocol: 'tcp' | 'udp',
    src: string,
    dst: string,
    port: number,
    timeoutMs: number,
  ): Promise<DeliveryFacts>;
  /** Wall clock (Date.now) and a monotonic one, in ms. */
  now(): number;
  monotonic(): number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What to trace: a packet to `target` (a device or DNS name, or an address), `port` for tcp and udp. */
export interface TraceQuery {
  target: string;
  protocol: TraceProtocol;
  port: number | null;
  /** The asking user, whose packet the kernel routes (rules may match on uid). */
  uid?: number;
}

/**
 * `burrow trace`'s fact-finding in burrowd: follows one packet through the stages it lives, from
 * this device's side and, through a trace probe, the peer's. It stops gathering at the first stage
 * that stops the packet; the report (src/trace/trace-report.ts) judges what was gathered.
 */
export async function traceFacts(ctx: TraceContext, query: TraceQuery): Promise<TraceFacts> {
  const { target, protocol, port } = query;
  const ip = isAddress(target) ? target : null;
  const start = ctx.monotonic();
  const map = ctx.netmap();
  const self = map?.self;
  const facts: Mutable<TraceFacts> = {
    query: { target, protocol, port },
    self: { name: self?.name ?? 'this device', user: self?.user ?? 'you', network: self?.network ?? '?' },
    now: ctx.now(),
    totalMs: 0,
  };
  const done = () => {
    facts.totalMs = ctx.monotonic() - start;
    return facts;
  };

  // 1 destination
  facts.destination = await destination(ctx, map, target, ip);
  if (!facts.destination.resolved) return done();
  const dst = facts.destination.ip;

  // 2 route (the kernel's, through netlink)
  facts.route = await ctx.route(dst);
  if (facts.route.kind !== 'burrow') return done();

  // 3 inside burrowd: whose allowed IPs hold the destination; the exit node
  const tunnel = ctx.tunnel();
  const prefs = ctx.prefs();
  const backendState = ctx.backendState();
  const dstBytes = parseCidr(dst).addr;
  const wg = tunnel?.peerFor(dstBytes);
  const node = wg === undefined ? undefined : map?.peers.find((p) => p.nodeKey === encodeKey(wg.publicKey));
  const plan = map === null ? null : planMesh(map, prefs, ctx.now());
  const exitNode = prefs.exitNode === null ? null : (map?.peers.find((p) => p.id === prefs.exitNode) ?? null);
  const inside: InsideFacts = {
    backendState,
    peer:
      node === undefined
        ? null
        : {
            id: node.id,
            name: node.name,
            user: node.user,
            network: node.network,
            online: node.online,
            lastSeen: node.lastSeen,
            allowedIp:
              plan?.peers.find((p) => p.node.id === node.id)?.allowedIps.find((c) => holds(c, dstBytes)) ??
              dst,
            shared: node.shared,
          },
    exitNode:
      prefs.exitNode === null
        ? null
        : { name: exitNode?.name ?? prefs.exitNode, missing: plan?.exitNodeMissing ?? true },
  };
  facts.inside = inside;
  if (backendState !== 'running' || node === undefined || wg === undefined || tunnel === null || map === null)
    return done();

  // 4 WireGuard: the session, or a handshake made and timed now (none with an offline peer)
  facts.wireguard = await session(ctx, node, wg, tunnel);
  if (facts.wireguard.session === null && !facts.wireguard.handshake?.completed) return done();

  const src = map.self.ips.find((a) => a.includes(':') === dst.includes(':'));
  const peerAddress = node.ips.find((a) => a.includes(':') === dst.includes(':'));

  // 5 path, with its round trip: the last disco ping's, else a ping of our own
  const path = tunnel.pathOf(node.nodeKey);
  let pong: Pong | null = null;
  if ((path?.latencyMs ?? null) === null && src !== undefined && peerAddress !== undefined)
    pong = await ctx.ping(src, peerAddress, PING_TIMEOUT_MS);
  facts.path = pathFacts(path, pong);
  if (facts.path.kind === 'none' || src === undefined || peerAddress === undefined) return done();

  // 6 the peer's verdict, asked through the tunnel
  const outcome = await ctx.probe({
    peerId: node.id,
    from: src,
    peerAddress,
    protocol,
    dst,
    port: port ?? 0,
    askListening: false,
  });
  const verdict: PeerVerdictFacts = { answer: outcome.answer, ms: outcome.ms };
  facts.peerVerdict = verdict;
  const reason = outcome.answer?.reason;
  if (reason !== undefined && reason !== 'established' && reason !== 'policy') return done();

  // 7 delivery: a SYN (or datagram, or ping) of our own; its answer is taken out before our kernel sees it
  facts.delivery = await delivery(ctx, protocol, src, dst, port);
  return done();
}

async function destination(
  ctx: TraceContext,
  map: Netmap | null,
  host: string,
  ip: string | null,
): Promise<DestinationFacts> {
  const started = ctx.monotonic();
  const ms = () => ctx.monotonic() - started;
  if (ip !== null) {
    const device = map?.peers.find((p) => p.ips.includes(ip));
    return { resolved: true, ip, via: 'address', device: device ? shortName(map!, device) : null, ms: ms() };
  }
  const device = findPeer(map, host);
  const fqdn = device !== undefined ? fqdnOf(map!, device) : host;
  const answers = await ctx.resolve(fqdn);
  const found = answers?.[0] ?? device?.ips.find((a) => !a.includes(':')) ?? device?.ips[0];
  if (found === undefined) {
    return {
      resolved: false,
      error: answers === null ? 'no device of that name, and MagicDNS is not running' : 'no such name',
      ms: ms(),
    };
  }
  const named = device ?? map?.peers.find((p) => p.ips.includes(found));
  return {
    resolved: true,
    ip: found,
    via: named !== undefined ? 'magicdns' : 'dns',
    device: named !== undefined ? shortName(map!, named) : null,
    ms: ms(),
  };
}

async function session(
  ctx: TraceContext,
  node: NodeInfo,
  wg: Peer,
  tunnel: NonNullable<ReturnType<TraceContext['tunnel']>>,
): Promise<WireguardFacts> {
  // The control server's word first: a session made before the peer went away is no sign of it.
  if (!node.online) return { session: null, handshake: null };
  const before = wg.lastHandshakeWall;
  const ago = ctx.now() - before;
  if (before > 0 && wg.current !== null && ago < SESSION_LIFETIME_MS) {
    return { session: { ageMs: ago, lastHandshakeAgoMs: ago }, handshake: null };
  }
  const started = ctx.monotonic();
  tunnel.handshake(wg);
  while (wg.lastHandshakeWall === before && ctx.monotonic() - started < HANDSHAKE_TIMEOUT_MS)
    await new Promise((r) => setTimeout(r, 5));
  return {
    session: null,
    handshake: { completed: wg.lastHandshakeWall !== before, ms: ctx.monotonic() - started },
  };
}

function pathFacts(path: PeerPathStatus | null, pong: Pong | null): PathFacts {
  const relayedPong = pong !== null && 'relay' in pong.origin ? pong.origin : null;
  const kind = pong !== null ? (relayedPong ? 'relay' : 'direct') : (path?.path ?? 'none');
  const endpoint =
    kind !== 'direct'
      ? null
      : pong !== null && relayedPong === null
        ? endpointText(pong.origin as Parameters<typeof endpointText>[0])
        : path?.endpoint
          ? endpointText(path.endpoint)
          : null;
  return {
    kind,
    endpoint,
    // How the path in use was found; a pong from another address says nothing of that one.
    foundBy:
      endpoint !== null && path?.endpoint && endpointText(path.endpoint) === endpoint ? path.found : null,
    relay: kind === 'relay' ? (relayedPong?.relay ?? path?.relay ?? null) : null,
    rttMs: path?.latencyMs ?? pong?.ms ?? null,
  };
}

async function delivery(
  ctx: TraceContext,
  protocol: TraceProtocol,
  src: string,
  dst: string,
  port: number | null,
): Promise<DeliveryFacts> {
  if (protocol === 'icmp' || port === null) {
    const started = ctx.monotonic();
    const pong = await ctx.ping(src, dst, PING_TIMEOUT_MS);
    return { outcome: pong === null ? 'no-answer' : 'echo-reply', ms: pong?.ms ?? ctx.monotonic() - started };
  }
  return ctx.deliver(protocol, src, dst, port, DELIVERY_TIMEOUT_MS);
}

function fqdnOf(map: Netmap, node: NodeInfo): string {
  return deviceNames(map)[map.peers.indexOf(node) + 1]!.fqdn;
}

function shortName(map: Netmap, node: NodeInfo): string {
  return deviceNames(map)[map.peers.indexOf(node) + 1]!.short;
}

function isAddress(text: string): boolean {
  try {
    return !text.includes('/') && parseCidr(text) !== null;
  } catch {
    return false;
  }
}

const holds = (cidr: string, addr: Uint8Array) => containsAddress(parsePrefix(cidr), addr);
