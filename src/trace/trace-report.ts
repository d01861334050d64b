/**
 * From the facts burrowd gathered (facts.ts) to the report (report.ts): each stage judged in the
 * packet's order, the first one that stops the packet marked blocked with its cause and fix, the
 * ones after it skipped, and the exit code. Pure: the same facts give the same report.
 */
import type {
  DeliveryFacts,
  DestinationFacts,
  InsideFacts,
  PathFacts,
  PeerVerdictFacts,
  RouteFacts,
  TraceFacts,
  WireguardFacts,
} from './facts.js';
import {
  STAGE_TITLES,
  STAGES,
  type StageName,
  type StageStatus,
  type TraceReport,
  type TraceStage,
} from './report.js';

/** A stage's verdict before it is placed in the report. */
interface Judged {
  readonly status: StageStatus;
  readonly summary: string;
  readonly ms?: number | null;
  readonly details?: readonly (readonly [string, string])[];
  readonly cause?: string;
  readonly fix?: string;
}

const ok = (summary: string, details: Judged['details'] = [], ms: number | null = null): Judged => ({
  status: 'ok',
  summary,
  details,
  ms,
});
const blocked = (
  cause: string,
  fix: string,
  ms: number | null = null,
  details: Judged['details'] = [],
): Judged => ({
  status: 'blocked',
  summary: cause,
  cause,
  fix,
  ms,
  details,
});

/** The report for a trace: every stage in order, the first blocking one, and the exit code. */
export function buildTraceReport(facts: TraceFacts): TraceReport {
  const names = new Names(facts);
  const judges: Record<StageName, () => Judged | null | undefined> = {
    destination: () => facts.destination && destination(facts.destination, names),
    route: () => facts.route && route(facts.route, names),
    inside: () => facts.inside && inside(facts.inside, facts.route, names),
    wireguard: () => facts.wireguard && wireguard(facts.wireguard, facts.inside, names),
    path: () => facts.path && path(facts.path, names),
    'peer-verdict': () => facts.peerVerdict && peerVerdict(facts.peerVerdict, facts.inside, names),
    delivery: () => delivery(facts.delivery, facts.peerVerdict, names),
  };
  let blockedAt: StageName | null = null;
  const stages: TraceStage[] = STAGES.map((name) => {
    const judged: Judged =
      blockedAt !== null
        ? { status: 'skipped', summary: `not reached: the packet stops at ${STAGE_TITLES[blockedAt]}` }
        : (judges[name]() ?? { status: 'unknown', summary: 'not checked' });
    if (judged.status === 'blocked') blockedAt = name;
    return {
      name,
      title: STAGE_TITLES[name],
      status: judged.status,
      ms: judged.ms === undefined || judged.ms === null ? null : Math.max(0, Math.round(judged.ms)),
      summary: judged.summary,
      details: (judged.details ?? []).map(([label, value]) => ({ label, value })),
      cause: judged.cause ?? null,
      fix: judged.fix ?? null,
    };
  });
  const stop = stages.find((s) => s.status === 'blocked') ?? null;
  const peer = facts.inside?.peer ?? null;
  return {
    target: {
      query: facts.query.target,
      name: names.device,
      ip: facts.destination?.resolved ? facts.destination.ip : null,
      protocol: facts.query.protocol,
      port: facts.query.port,
    },
    peer: peer === null ? null : { id: peer.id, name: peer.name },
    stages,
    delivered: stop === null,
    blockedAt: stop?.name ?? null,
    cause: stop?.cause ?? null,
    fix: stop?.fix ?? null,
    exitCode: stop === null ? 0 : 1,
    totalMs: Math.max(0, Math.round(facts.totalMs)),
  };
}

/** How the sentences name things: the device, "webcam:80", durations. */
class Names {
  /** The device's name if it is one of the map's, else null. */
  readonly device: string | null;
  /** The destination as a sentence names it: the device, else the address, else what was typed. */
  readonly target: string;
  /** With the port: "webcam:80", "webcam:53 (udp)", or for a ping just "webcam". */
  readonly targetPort: string;

  constructor(readonly facts: TraceFacts) {
    const d = facts.destination;
    this.device = facts.inside?.peer?.name ?? (d?.resolved ? d.device : null);
    this.target = this.device ?? (d?.resolved ? d.ip : facts.query.target);
    const { protocol, port } = facts.query;
    this.targetPort =
      protocol === 'icmp' || port === null
        ? this.target
        : `${this.target}:${port}${protocol === 'udp' ? ' (udp)' : ''}`;
  }

  /** What the packet does, for "no rule letting alice reach webcam:80" ("ping webcam" for icmp). */
  get reach(): string {
    return this.facts.query.protocol === 'icmp' ? `ping ${this.target}` : `reach ${this.targetPort}`;
  }
}

/** A duration for people: "45 s", "12 min", "3 h", "2 d" (rounded down, as "offline for 3 h" reads). */
export function durationText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

function destination(d: DestinationFacts, n: Names): Judged {
  if (!d.resolved) {
    return blocked(
      `${n.facts.query.target} does not resolve: ${d.error}`,
      'Check the name: burrow status lists the devices you can reach by name.',
      d.ms,
    );
  }
  const how = { magicdns: ' (MagicDNS)', dns: ' (DNS)', address: '' }[d.via];
  const { protocol, port } = n.facts.query;
  return ok(
    d.via === 'address'
      ? `${d.ip}${d.device ? ` (${d.device})` : ''}`
      : `${n.facts.query.target} is ${d.ip}${how}`,
    [
      ['address', d.ip],
      ['protocol', protocol],
      ...(port === null ? [] : ([['port', String(port)]] as const)),
    ],
    d.ms,
  );
}

function route(r: RouteFacts, n: Names): Judged {
  switch (r.kind) {
    case 'burrow': {
      const via = `table ${r.table}${r.rule === null ? '' : ` through rule ${r.rule}`} to ${r.dev}`;
      return ok(
        r.exitNode ? `the exit node's default route: ${via}` : `${via} (${r.prefix})`,
        [
          ['table', String(r.table)],
          ...(r.rule === null ? [] : ([['rule', String(r.rule)]] as const)),
          ['interface', r.dev],
          ['route', r.prefix],
        ],
        r.ms,
      );
    }
    case 'other': {
      const table = r.table === 254 ? 'the main table' : `table ${r.table}`;
      const out = [r.gateway && `via ${r.gateway}`, r.dev && `out of ${r.dev}`].filter(Boolean).join(' ');
      return blocked(
        `${n.target} is not Burrow's: ${table} sends it${out ? ` ${out}` : ''}, outside the tunnel`,
        'To reach it through Burrow, a device must offer its subnet (--advertise-routes) or be your exit node (burrow set --exit-node=NAME).',
        r.ms,
      );
    }
    case 'routes-not-accepted':
      return blocked(
        `route ${r.prefix} is offered by ${r.offeredBy} but --accept-routes is off`,
        'Accept the routes peers offer: burrow set --accept-routes=true',
        r.ms,
      );
    default:
      return blocked(`no route to ${n.target}: ${r.error}`, 'Check the device is up: burrow status.', r.ms);
  }
}

function inside(i: InsideFacts, r: RouteFacts | undefined, n: Names): Judged {
  if (i.backendState !== 'running') {
    return blocked(
      `burrowd is ${i.backendState}: the tunnel carries no packets`,
      i.backendState === 'needs-login' ? 'Sign in: burrow up' : 'Bring the tunnel up: burrow up',
    );
  }
  const viaExitNode = r?.kind === 'burrow' && r.exitNode;
  if (i.exitNode?.missing && (viaExitNode || i.peer === null)) {
    return blocked(
      `exit node ${i.exitNode.name} is missing, so traffic for the internet is dropped (fail closed)`,
      'Choose another exit node (burrow exit-node list, then burrow set --exit-node=NAME), or go direct: burrow set --exit-node=',
    );
  }
  if (i.peer === null) {
    return blocked(
      `no peer's allowed IPs hold ${n.target}`,
      'The device may have left the network, or its route is not approved: check burrow status.',
    );
  }
  const p = i.peer;
  return ok(`${p.name}'s allowed IPs hold it (${p.allowedIp})`, [
    ['peer', p.name],
    ['owner', p.user],
    ['network', p.network],
    ['allowed IP', p.allowedIp],
    ...(i.exitNode === null ? [] : ([['exit node', i.exitNode.name]] as const)),
  ]);
}

function wireguard(w: WireguardFacts, i: InsideFacts | undefined, n: Names): Judged {
  if (w.session !== null) {
    return ok(
      `session ${durationText(w.session.ageMs)} old, last handshake ${durationText(w.session.lastHandshakeAgoMs)} ago`,
      [
        ['session age', durationText(w.session.ageMs)],
        ['last handshake', `${durationText(w.session.lastHandshakeAgoMs)} ago`],
      ],
    );
  }
  if (w.handshake?.completed) {
    return ok(`no session: a handshake made one in ${Math.round(w.handshake.ms)} ms`, [], w.handshake.ms);
  }
  const peer = i?.peer;
  const ms = w.handshake?.ms ?? null;
  if (peer && !peer.online) {
    const cause =
      peer.lastSeen === null
        ? `${peer.name} is offline (never seen online)`
        : `${peer.name} has been offline for ${durationText(n.facts.now - peer.lastSeen)}`;
    return blocked(cause, `Bring ${peer.name} back online: start it, or burrow up on it.`, ms);
  }
  return blocked(
    `${n.target} did not answer a WireGuard handshake${ms === null ? '' : ` within ${durationText(ms)}`}`,
    `Check that burrowd runs on ${n.target}, and that one of you reaches the other or the relay.`,
    ms,
  );
}

function path(p: PathFacts, n: Names): Judged {
  const rtt = p.rttMs === null ? ([] as const) : ([['round trip', `${Math.round(p.rttMs)} ms`]] as const);
  if (p.kind === 'direct') {
    const how =
      p.foundBy === null
        ? 'by a way not known'
        : {
            lan: 'on the LAN',
            stun: 'by STUN',
            'peer-reflexive': "from the peer's pings (peer-reflexive)",
            'port-mapping': "by the peer's port mapping",
          }[p.foundBy];
    return ok(
      `direct to ${p.endpoint} (found ${how})`,
      [['endpoint', p.endpoint ?? '?'], ['found', how], ...rtt],
      p.rttMs,
    );
  }
  if (p.kind === 'relay')
    return ok(`through the relay ${p.relay}`, [['relay', p.relay ?? '?'], ...rtt], p.rttMs);
  return blocked(
    `no path to ${n.target}: neither direct nor through a relay`,
    'Check that both devices reach the relay (burrow status lists the relays).',
  );
}

function peerVerdict(v: PeerVerdictFacts, i: InsideFacts | undefined, n: Names): Judged {
  const a = v.answer;
  if (a === null) {
    return {
      status: 'unknown',
      summary: `${n.target} did not answer the trace probe (an older burrowd, or too many traces)`,
      ms: v.ms,
    };
  }
  const { self } = n.facts;
  const owner = i?.peer?.user ?? 'its owner';
  const network = i?.peer?.network ?? 'the network';
  switch (a.reason) {
    case 'established':
      return ok(`${n.target} lets it in: it answers a flow ${n.target} started`, [], v.ms);
    case 'policy':
      return ok(
        `${n.target} lets it in by policy rule ${a.rule}`,
        [['rule', `${a.rule}: ${a.ruleText}`]],
        v.ms,
      );
    case 'shields-up':
      return blocked(
        `${owner} has Shields Up on ${n.target}`,
        `${owner} can turn it off on ${n.target}: burrow set --shields-up=false`,
        v.ms,
      );
    case 'quarantined':
      return blocked(
        `${self.name} is shared into network ${network}, and a shared device may not start connections (quarantine)`,
        `${n.target} can still connect to ${self.name}; for ${self.user} to reach ${n.target}, ${owner} can share ${n.target} with ${self.user}.`,
        v.ms,
      );
    default:
      return blocked(
        `policy of network ${network} has no rule letting ${self.user} ${n.reach}`,
        `An admin of network ${network} can add a rule that lets ${self.user} ${n.reach}.`,
        v.ms,
      );
  }
}

function delivery(d: DeliveryFacts | undefined, v: PeerVerdictFacts | undefined, n: Names): Judged | null {
  const protocol = n.facts.query.protocol;
  const nothing = (ms: number | null) =>
    blocked(
      `nothing is listening on ${n.targetPort}`,
      `Start the service on ${n.target}, or check the port.`,
      ms,
    );
  const probeSaysClosed = v?.answer?.listening === false;
  if (d === undefined) return probeSaysClosed ? nothing(null) : null;
  switch (d.outcome) {
    case 'listening':
      return ok(
        protocol === 'tcp' ? `SYN answered by SYN-ACK: ${n.targetPort} listens` : `${n.targetPort} answered`,
        [],
        d.ms,
      );
    case 'echo-reply':
      return ok(`${n.target} answered the ping`, [], d.ms);
    case 'refused':
      return nothing(d.ms);
    default:
      if (protocol === 'udp') {
        if (probeSaysClosed) return nothing(d.ms);
        return ok('datagram sent; no port unreachable came back (UDP tells no more)', [], d.ms);
      }
      if (protocol === 'icmp') {
        return blocked(`${n.target} did not answer the ping`, `Check the firewall on ${n.target}.`, d.ms);
      }
      return blocked(
        `${n.targetPort} did not answer the SYN (a firewall on ${n.target} may drop it)`,
        `Check the firewall on ${n.target} for port ${n.facts.query.port}.`,
        d.ms,
      );
  }
}

/**
 * The report as a caller who may only read burrowd sees it (the LocalAPI's `trace` is open to
 * every local user): the peer's admitting rule is not named, only that its policy lets the packet
 * in. Everything else in a report is what `burrow status` already shows that caller (peers, their
 * owners, addresses, paths, handshakes), what any local user can ask the kernel (the route), or
 * what a packet the caller could send itself would meet (the peer's verdict, a listening port).
 */
export function reportForReader(report: TraceReport): TraceReport {
  return {
    ...report,
    stages: report.stages.map((stage) =>
      stage.name === 'peer-verdict' && stage.details.some((d) => d.label === 'rule')
        ? {
            ...stage,
            summary: stage.summary.replace(/ by policy rule \d+$/, ' by its policy'),
            details: stage.details.filter((d) => d.label !== 'rule'),
          }
        : stage,
    ),
  };
}
