import { describe, expect, it } from 'vitest';
import type { InsideFacts, PathFacts, TraceFacts } from './facts.js';
import type { ProbeAnswer } from './probe-message.js';
import { STAGES, traceReport } from './report.js';
import { buildTraceReport, durationText, reportForReader } from './trace-report.js';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
const webcam: NonNullable<InsideFacts['peer']> = {
  id: 'n-webcam',
  name: 'webcam',
  user: 'bob',
  network: 'team',
  online: true,
  lastSeen: NOW,
  allowedIp: '100.64.0.2/32',
  shared: false,
};
const answer = (over: Partial<ProbeAnswer>): ProbeAnswer => ({
  type: 'answer',
  id: '0123456789abcdef',
  reason: 'policy',
  rule: 4,
  ruleText: '100.64.0.1/32 -> 100.64.0.2/32:80 tcp',
  listening: true,
  ...over,
});

/** alice's laptop traces webcam:80 over a direct path, and everything goes right. */
function delivered(): TraceFacts {
  return {
    query: { target: 'webcam', protocol: 'tcp', port: 80 },
    self: { name: 'laptop', user: 'alice', network: 'team' },
    now: NOW,
    totalMs: 42,
    destination: { resolved: true, ip: '100.64.0.2', via: 'magicdns', device: 'webcam', ms: 1 },
    route: {
      kind: 'burrow',
      table: 52,
      rule: 5270,
      dev: 'burrow0',
      prefix: '100.64.0.2/32',
      exitNode: false,
      ms: 1,
    },
    inside: { backendState: 'running', peer: webcam, exitNode: null },
    wireguard: { session: { ageMs: 90_000, lastHandshakeAgoMs: 12_000 }, handshake: null },
    path: { kind: 'direct', endpoint: '192.0.2.7:41641', foundBy: 'stun', relay: null, rttMs: 3 },
    peerVerdict: { answer: answer({}), ms: 4 },
    delivery: { outcome: 'listening', ms: 3 },
  };
}

/** The report, checked against the LocalAPI schema, and the stage that stops the packet. */
function judge(facts: TraceFacts) {
  const report = buildTraceReport(facts);
  expect(traceReport.parse(JSON.parse(JSON.stringify(report)))).toEqual(report);
  expect(report.stages.map((s) => s.name)).toEqual([...STAGES]);
  // One blocked stage at most, and nothing after it was looked at.
  const at = report.stages.findIndex((s) => s.status === 'blocked');
  if (at >= 0) {
    expect(report.stages.slice(at + 1).every((s) => s.status === 'skipped')).toBe(true);
    expect(report.stages[at]).toMatchObject({ cause: report.cause, fix: report.fix });
  }
  return report;
}

function blockedAt(facts: TraceFacts) {
  const r = judge(facts);
  return { exitCode: r.exitCode, stage: r.blockedAt, cause: r.cause, fix: r.fix };
}

describe('buildTraceReport', () => {
  it('delivered over a direct path: exit 0, every stage ok, with the rule and the path', () => {
    const r = judge(delivered());
    expect(r).toMatchObject({
      delivered: true,
      exitCode: 0,
      blockedAt: null,
      cause: null,
      fix: null,
      totalMs: 42,
    });
    expect(r.target).toEqual({
      query: 'webcam',
      name: 'webcam',
      ip: '100.64.0.2',
      protocol: 'tcp',
      port: 80,
    });
    expect(r.peer).toEqual({ id: 'n-webcam', name: 'webcam' });
    expect(r.stages.map((s) => s.status)).toEqual(Array(7).fill('ok'));
    expect(r.stages.map((s) => s.summary)).toEqual([
      'webcam is 100.64.0.2 (MagicDNS)',
      'table 52 through rule 5270 to burrow0 (100.64.0.2/32)',
      "webcam's allowed IPs hold it (100.64.0.2/32)",
      'session 1 min old, last handshake 12 s ago',
      'direct to 192.0.2.7:41641 (found by STUN)',
      'webcam lets it in by policy rule 4',
      'SYN answered by SYN-ACK: webcam:80 listens',
    ]);
    expect(r.stages[5]!.details).toEqual([
      { label: 'rule', value: '4: 100.64.0.1/32 -> 100.64.0.2/32:80 tcp' },
    ]);
  });

  it('says how the direct path was found, as burrow status does', () => {
    const summary = (foundBy: PathFacts['foundBy']) =>
      judge({ ...delivered(), path: { ...delivered().path!, foundBy } }).stages[4]!.summary;
    expect(summary('lan')).toBe('direct to 192.0.2.7:41641 (found on the LAN)');
    expect(summary('peer-reflexive')).toBe(
      "direct to 192.0.2.7:41641 (found from the peer's pings (peer-reflexive))",
    );
    expect(summary('port-mapping')).toBe("direct to 192.0.2.7:41641 (found by the peer's port mapping)");
    expect(summary(null)).toBe('direct to 192.0.2.7:41641 (found by a way not known)');
  });

  it('delivered via the relay, after a handshake made for the trace', () => {
    const r = judge({
      ...delivered(),
      wireguard: { session: null, handshake: { completed: true, ms: 230 } },
      path: { kind: 'relay', endpoint: null, foundBy: null, relay: 'home', rttMs: 48 },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stages[3]).toMatchObject({ summary: 'no session: a handshake made one in 230 ms', ms: 230 });
    expect(r.stages[4]).toMatchObject({ status: 'ok', summary: 'through the relay home', ms: 48 });
  });

  it('Shields Up', () => {
    expect(
      blockedAt({
        ...delivered(),
        peerVerdict: {
          answer: answer({ reason: 'shields-up', rule: null, ruleText: null, listening: null }),
          ms: 5,
        },
        delivery: undefined,
      }),
    ).toEqual({
      exitCode: 1,
      stage: 'peer-verdict',
      cause: 'bob has Shields Up on webcam',
      fix: 'bob can turn it off on webcam: burrow set --shields-up=false',
    });
  });

  it('a policy deny names the network, the user and the port', () => {
    const deny = answer({ reason: 'not-allowed-by-policy', rule: null, ruleText: null, listening: null });
    expect(
      blockedAt({ ...delivered(), peerVerdict: { answer: deny, ms: 5 }, delivery: undefined }),
    ).toMatchObject({
      exitCode: 1,
      stage: 'peer-verdict',
      cause: 'policy of network team has no rule letting alice reach webcam:80',
    });
    const ping = { ...delivered(), query: { target: 'webcam', protocol: 'icmp' as const, port: null } };
    expect(blockedAt({ ...ping, peerVerdict: { answer: deny, ms: 5 } }).cause).toBe(
      'policy of network team has no rule letting alice ping webcam',
    );
  });

  it('quarantine: this device is shared into the peer network and may not start connections', () => {
    const q = answer({ reason: 'quarantined', rule: null, ruleText: null, listening: null });
    const r = blockedAt({ ...delivered(), peerVerdict: { answer: q, ms: 5 } });
    expect(r).toMatchObject({ exitCode: 1, stage: 'peer-verdict' });
    expect(r.cause).toBe(
      'laptop is shared into network team, and a shared device may not start connections (quarantine)',
    );
  });

  it('peer offline: how long, from when the server last saw it', () => {
    const offline = { ...webcam, online: false, lastSeen: NOW - 3 * HOUR - 120_000 };
    expect(
      blockedAt({
        ...delivered(),
        inside: { backendState: 'running', peer: offline, exitNode: null },
        wireguard: { session: null, handshake: { completed: false, ms: 5000 } },
        path: undefined,
        peerVerdict: undefined,
        delivery: undefined,
      }),
    ).toEqual({
      exitCode: 1,
      stage: 'wireguard',
      cause: 'webcam has been offline for 3 h',
      fix: 'Bring webcam back online: start it, or burrow up on it.',
    });
    const never = { ...webcam, online: false, lastSeen: null };
    expect(
      blockedAt({
        ...delivered(),
        inside: { backendState: 'running', peer: never, exitNode: null },
        wireguard: { session: null, handshake: null },
      }).cause,
    ).toBe('webcam is offline (never seen online)');
  });

  it('no route: a subnet offered by a peer while --accept-routes is off', () => {
    expect(
      blockedAt({
        ...delivered(),
        query: { target: '10.1.2.3', protocol: 'tcp', port: 22 },
        destination: { resolved: true, ip: '10.1.2.3', via: 'address', device: null, ms: 0 },
        route: { kind: 'routes-not-accepted', prefix: '10.1.0.0/16', offeredBy: 'c', ms: 1 },
      }),
    ).toEqual({
      exitCode: 1,
      stage: 'route',
      cause: 'route 10.1.0.0/16 is offered by c but --accept-routes is off',
      fix: 'Accept the routes peers offer: burrow set --accept-routes=true',
    });
  });

  it('exit node missing: the default route holds the packet in the tunnel (fail closed)', () => {
    const r = blockedAt({
      ...delivered(),
      query: { target: '1.1.1.1', protocol: 'tcp', port: 443 },
      destination: { resolved: true, ip: '1.1.1.1', via: 'address', device: null, ms: 0 },
      route: {
        kind: 'burrow',
        table: 52,
        rule: 5270,
        dev: 'burrow0',
        prefix: '0.0.0.0/0',
        exitNode: true,
        ms: 1,
      },
      inside: { backendState: 'running', peer: null, exitNode: { name: 'nas', missing: true } },
    });
    expect(r).toMatchObject({
      exitCode: 1,
      stage: 'inside',
      cause: 'exit node nas is missing, so traffic for the internet is dropped (fail closed)',
    });
    expect(r.fix).toContain('burrow set --exit-node=');
  });

  it('nothing listening: a RST for a SYN, or a port unreachable for a datagram', () => {
    expect(blockedAt({ ...delivered(), delivery: { outcome: 'refused', ms: 2 } })).toEqual({
      exitCode: 1,
      stage: 'delivery',
      cause: 'nothing is listening on webcam:80',
      fix: 'Start the service on webcam, or check the port.',
    });
    const udp = { ...delivered(), query: { target: 'webcam', protocol: 'udp' as const, port: 53 } };
    expect(blockedAt({ ...udp, delivery: { outcome: 'refused', ms: 2 } }).cause).toBe(
      'nothing is listening on webcam:53 (udp)',
    );
    // UDP's silence is not a refusal, unless the peer's probe said nothing listens.
    expect(blockedAt({ ...udp, delivery: { outcome: 'no-answer', ms: 3000 } }).exitCode).toBe(0);
    const closed = { answer: answer({ listening: false }), ms: 4 };
    expect(
      blockedAt({ ...udp, peerVerdict: closed, delivery: { outcome: 'no-answer', ms: 3000 } }).stage,
    ).toBe('delivery');
  });

  it('a SYN nobody answers, and the other ways a packet stops', () => {
    expect(blockedAt({ ...delivered(), delivery: { outcome: 'no-answer', ms: 3000 } }).cause).toBe(
      'webcam:80 did not answer the SYN (a firewall on webcam may drop it)',
    );
    expect(
      blockedAt({ ...delivered(), destination: { resolved: false, error: 'NXDOMAIN', ms: 2 } }),
    ).toMatchObject({
      stage: 'destination',
      cause: 'webcam does not resolve: NXDOMAIN',
    });
    expect(
      blockedAt({
        ...delivered(),
        route: { kind: 'other', table: 254, dev: 'eth0', gateway: '192.168.1.1', ms: 1 },
      }).cause,
    ).toBe("webcam is not Burrow's: the main table sends it via 192.168.1.1 out of eth0, outside the tunnel");
    expect(
      blockedAt({ ...delivered(), inside: { backendState: 'running', peer: null, exitNode: null } }).stage,
    ).toBe('inside');
    expect(
      blockedAt({ ...delivered(), inside: { backendState: 'needs-login', peer: webcam, exitNode: null } })
        .fix,
    ).toBe('Sign in: burrow up');
    expect(
      blockedAt({
        ...delivered(),
        path: { kind: 'none', endpoint: null, foundBy: null, relay: null, rttMs: null },
      }).stage,
    ).toBe('path');
    expect(
      blockedAt({ ...delivered(), wireguard: { session: null, handshake: { completed: false, ms: 5000 } } })
        .cause,
    ).toBe('webcam did not answer a WireGuard handshake within 5 s');
  });

  it('a peer that does not answer the probe leaves its verdict unknown, which stops nothing', () => {
    const r = judge({ ...delivered(), peerVerdict: { answer: null, ms: 3000 } });
    expect(r.stages[5]).toMatchObject({ status: 'unknown', ms: 3000 });
    expect(r.exitCode).toBe(0);
    // A stage burrowd did not look at, though nothing stopped the packet before it.
    expect(judge({ ...delivered(), path: undefined }).stages[4]).toMatchObject({
      status: 'unknown',
      summary: 'not checked',
    });
  });

  it('reportForReader hides the rule, and nothing else', () => {
    const r = buildTraceReport(delivered());
    const read = reportForReader(r);
    expect(read.stages[5]).toMatchObject({ summary: 'webcam lets it in by its policy', details: [] });
    expect({ ...read, stages: read.stages.filter((s) => s.name !== 'peer-verdict') }).toEqual({
      ...r,
      stages: r.stages.filter((s) => s.name !== 'peer-verdict'),
    });
  });

  it('says durations as people do', () => {
    expect([0, 45_000, 12 * 60_000, 3 * HOUR + 59 * 60_000, 50 * HOUR].map(durationText)).toEqual([
      '0 s',
      '45 s',
      '12 min',
      '3 h',
      '2 d',
    ]);
  });
});
