/**
 * For the app's tests and pictures: trace reports as burrowd would give them for a sample status,
 * made by the real report builder (src/trace/trace-report.ts) from facts that fit the status, so
 * the UI is developed and tested against real reports without burrowd. Pure (no I/O), so the
 * renderer's tests use it too. Per peer of the status:
 *  - an online peer of our own: delivered (direct or through its relay, as the status says; a
 *    TCP port listens, a ping is answered);
 *  - a device shared with us: blocked by its owner's Shields Up (the peer's verdict);
 *  - an offline peer: blocked at WireGuard, offline for 3 h;
 * and anything else does not resolve.
 */
import type { PeerStatus, Status, TraceRequest } from '../../src/localapi/api.js';
import type { TraceFacts } from '../../src/trace/facts.js';
import type { TraceReport } from '../../src/trace/report.js';
import { buildTraceReport } from '../../src/trace/trace-report.js';

const HOUR = 3_600_000;

const findPeer = (status: Status, target: string): PeerStatus | undefined => {
  const t = target.toLowerCase();
  return status.peers.find(
    (p) => p.shortName.toLowerCase() === t || p.dnsName.toLowerCase() === t || p.ips.includes(target),
  );
};

/** The report burrowd would give `request` on the device of `status`, at `now`. */
export function sampleTrace(request: TraceRequest, status: Status, now: number): TraceReport {
  const protocol = request.proto ?? 'tcp';
  const port = protocol === 'icmp' ? null : (request.port ?? null);
  const self = status.self!;
  const base: TraceFacts = {
    query: { target: request.target, protocol, port },
    self: { name: self.shortName, user: self.user, network: self.network },
    now,
    totalMs: 0,
  };
  const peer = findPeer(status, request.target);
  if (peer === undefined)
    return buildTraceReport({
      ...base,
      totalMs: 3,
      destination: { resolved: false, error: 'no such name', ms: 3 },
    });
  const ip = peer.ips.includes(request.target) ? request.target : peer.ips[0]!;
  const network = peer.dnsName.split('.')[1] ?? self.network;
  const reached: TraceFacts = {
    ...base,
    destination: {
      resolved: true,
      ip,
      via: ip === request.target ? 'address' : 'magicdns',
      device: peer.shortName,
      ms: 1,
    },
    route: {
      kind: 'burrow',
      table: 52,
      rule: 5270,
      dev: 'burrow0',
      prefix: `${ip}/32`,
      exitNode: false,
      ms: 1,
    },
    inside: {
      backendState: 'running',
      peer: {
        id: peer.id,
        name: peer.shortName,
        user: peer.user,
        network,
        online: peer.online,
        lastSeen: peer.online ? now : now - 3 * HOUR - 60_000,
        allowedIp: `${ip}/32`,
        shared: peer.shared,
      },
      exitNode: null,
    },
  };
  if (!peer.online)
    return buildTraceReport({
      ...reached,
      totalMs: 2,
      wireguard: { session: null, handshake: null },
    });
  const rtt = peer.latencyMs ?? 4;
  const connected: TraceFacts = {
    ...reached,
    wireguard: { session: { ageMs: 95_000, lastHandshakeAgoMs: 12_000 }, handshake: null },
    path:
      peer.path === 'relay'
        ? { kind: 'relay', endpoint: null, foundBy: null, relay: peer.relay ?? 'burrow-server', rttMs: rtt }
        : {
            kind: 'direct',
            endpoint: peer.endpoint ?? '192.0.2.10:41641',
            foundBy: 'stun',
            relay: null,
            rttMs: rtt,
          },
  };
  const answer = { type: 'answer', id: '0123456789abcdef' } as const;
  if (peer.shared)
    return buildTraceReport({
      ...connected,
      totalMs: 2 * rtt + 6,
      peerVerdict: {
        answer: { ...answer, reason: 'shields-up', rule: null, ruleText: null, listening: null },
        ms: rtt + 1,
      },
    });
  const to = `${ip}/32${port === null ? '' : `:${port}`} ${protocol}`;
  return buildTraceReport({
    ...connected,
    totalMs: 3 * rtt + 8,
    peerVerdict: {
      answer: {
        ...answer,
        reason: 'policy',
        rule: 2,
        ruleText: `${self.ips[0]}/32 -> ${to}`,
        listening: null,
      },
      ms: rtt + 1,
    },
    delivery: {
      outcome: protocol === 'tcp' ? 'listening' : protocol === 'icmp' ? 'echo-reply' : 'no-answer',
      ms: rtt + 1,
    },
  });
}
