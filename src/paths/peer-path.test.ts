import { describe, expect, it } from 'vitest';
import {
  ACTIVE_MS,
  DISCOVERY_INTERVAL_MS,
  GUESS_MS,
  HEARTBEAT_MS,
  LEARNED_TTL_MS,
  MAX_LEARNED,
  OPEN_TTL,
  OPEN_WAIT_MS,
  type PathAction,
  PeerPath,
  TRUST_MS,
  UPGRADE_INTERVAL_MS,
} from './peer-path.js';

const LAN = { host: '192.168.1.7', port: 41641 };
const WAN = { host: '203.0.113.7', port: 41641 };

function counterRandom() {
  let n = 0;
  return (len: number) => {
    const b = new Uint8Array(len);
    new DataView(b.buffer).setUint32(0, ++n);
    return b;
  };
}

function path(endpoints = [LAN, WAN]) {
  const p = new PeerPath(counterRandom());
  p.setReported(endpoints);
  return p;
}

const pings = (out: PathAction[]) =>
  out.flatMap((a) =>
    a.kind === 'ping' ? [a.via === 'relay' ? 'relay' : `${a.via.host}:${a.via.port}`] : [],
  );
const pingTo = (out: PathAction[], host: string) =>
  out.find(
    (a): a is Extract<PathAction, { kind: 'ping' }> =>
      a.kind === 'ping' && a.via !== 'relay' && a.via.host === host,
  )!;

describe('PeerPath', () => {
  it('sends the first packets through the relay while it pings every candidate and calls the peer', () => {
    const p = path();
    const out: PathAction[] = [];
    // Through the relay, and to the likeliest address (the first IPv4 one the peer reported).
    expect(p.route(0, out)).toEqual({ udp: LAN, relay: true });
    expect(path([]).route(0, [])).toEqual({ udp: null, relay: true });
    // Opening pings (low TTL) to every candidate first, then the call-me-maybe, then the relay ping.
    expect(out.map((a) => (a.kind === 'ping' ? `${pings([a])[0]} ttl ${a.ttl ?? '-'}` : a.kind))).toEqual([
      `192.168.1.7:41641 ttl ${OPEN_TTL}`,
      `203.0.113.7:41641 ttl ${OPEN_TTL}`,
      'call-me-maybe',
      'relay ttl -',
    ]);
    // The relay's pong (the peer has had the call-me-maybe and pinged us) sends the full pings.
    const relayPing = out.find((a) => a.kind === 'ping' && a.via === 'relay') as Extract<
      PathAction,
      { kind: 'ping' }
    >;
    const full: PathAction[] = [];
    expect(p.pong(relayPing.txid, 'relay', 30, full)).toBe(true);
    expect(full.map((a) => (a.kind === 'ping' ? `${pings([a])[0]} ttl ${a.ttl ?? '-'}` : a.kind))).toEqual([
      '192.168.1.7:41641 ttl -',
      '203.0.113.7:41641 ttl -',
    ]);
    // More packets do not ping again until the discovery interval has passed.
    const again: PathAction[] = [];
    p.route(100, again);
    p.tick(DISCOVERY_INTERVAL_MS - 1, again);
    expect(pings(again)).toEqual([]);
    p.tick(DISCOVERY_INTERVAL_MS, again);
    expect(pings(again)).toHaveLength(3);
    expect(p.status(DISCOVERY_INTERVAL_MS, true).path).toBe('relay');
    expect(p.status(DISCOVERY_INTERVAL_MS, false).path).toBe('none');
  });

  it('without the relay pong, sends the full pings OPEN_WAIT_MS after the opening ones, only to those that did not answer', () => {
    const p = path();
    const out: PathAction[] = [];
    p.route(0, out);
    p.pong(pingTo(out, LAN.host).txid, LAN, 2);
    const early: PathAction[] = [];
    p.tick(OPEN_WAIT_MS - 1, early);
    expect(pings(early)).toEqual(['192.168.1.7:41641']); // the heartbeat of the path in use
    const full: PathAction[] = [];
    p.tick(OPEN_WAIT_MS, full);
    expect(pings(full)).toEqual(['203.0.113.7:41641']);
    expect(full.every((a) => a.kind !== 'ping' || a.ttl === undefined)).toBe(true);
  });

  it('turns direct on the first pong, and measures the time it took', () => {
    const p = path();
    const out: PathAction[] = [];
    p.route(1000, out);
    expect(p.pong(pingTo(out, WAN.host).txid, WAN, 1012)).toBe(true);
    expect(p.route(1013, [])).toEqual({ udp: WAN, relay: false });
    expect(p.status(1013, true)).toEqual({
      path: 'direct',
      source: 'told',
      kind: null,
      endpoint: WAN,
      latencyMs: 12,
    });
    expect(p.timeToDirect).toBe(12);
  });

  it('refuses a pong it did not ask for, or from another address than the ping went to', () => {
    const p = path();
    const out: PathAction[] = [];
    p.route(0, out);
    const ping = pingTo(out, WAN.host);
    expect(p.pong(new Uint8Array(12).fill(9), WAN, 5)).toBe(false);
    expect(p.pong(ping.txid, LAN, 5)).toBe(false);
    expect(p.pong(ping.txid, 'relay', 5)).toBe(false);
    expect(p.isDirect(5)).toBe(false);
    // Each pong settles its ping once.
    expect(p.pong(ping.txid, WAN, 6)).toBe(true);
    expect(p.pong(ping.txid, WAN, 7)).toBe(false);
  });

  it('keeps the path alive with heartbeats, and falls back to the relay when they go unanswered', () => {
    const p = path([WAN]);
    const out: PathAction[] = [];
    p.route(0, out);
    p.pong(pingTo(out, WAN.host).txid, WAN, 5);
    let now = 5;
    // Answered heartbeats keep it direct.
    for (; now < 20_000; now += 500) {
      p.route(now, []);
      const beat: PathAction[] = [];
      p.tick(now, beat);
      for (const a of beat) if (a.kind === 'ping' && a.via !== 'relay') p.pong(a.txid, a.via, now + 1);
      expect(p.isDirect(now + 1)).toBe(true);
    }
    // UDP breaks: heartbeats go out every HEARTBEAT_MS but nothing answers.
    const broke = now;
    let beats = 0;
    let fellBackAt = -1;
    for (; now < broke + 20_000; now += 500) {
      const beat: PathAction[] = [];
      const route = p.route(now, beat);
      p.tick(now, beat);
      beats += pings(beat).filter((x) => x !== 'relay').length;
      if (route.relay && fellBackAt < 0) fellBackAt = now;
    }
    expect(fellBackAt - broke).toBeGreaterThan(0);
    expect(fellBackAt - broke).toBeLessThanOrEqual(TRUST_MS);
    expect(beats).toBeGreaterThanOrEqual(Math.floor(20_000 / DISCOVERY_INTERVAL_MS));
    // Untrusted for GUESS_MS, packets also tried the last direct address; since then only the
    // relay carries them, while the heartbeats go on trying it.
    expect(fellBackAt + GUESS_MS).toBeLessThan(now);
    expect(p.route(now, [])).toEqual({ udp: null, relay: true });
    // The path comes back: the next heartbeat's pong makes it direct again.
    const beat: PathAction[] = [];
    p.tick(now + HEARTBEAT_MS + DISCOVERY_INTERVAL_MS, beat);
    const ping = pingTo(beat, WAN.host);
    p.pong(ping.txid, WAN, now + HEARTBEAT_MS + DISCOVERY_INTERVAL_MS + 3);
    expect(p.route(now + HEARTBEAT_MS + DISCOVERY_INTERVAL_MS + 4, [])).toEqual({ udp: WAN, relay: false });
  });

  it('moves to a clearly faster address, but not to one that is barely faster', () => {
    const p = path();
    const out: PathAction[] = [];
    p.route(0, out);
    p.pong(pingTo(out, WAN.host).txid, WAN, 10);
    p.pong(pingTo(out, LAN.host).txid, LAN, 9); // 9 ms vs 10 ms: not worth a switch
    expect(p.route(11, []).udp).toEqual(WAN);
    // Heartbeats (answered in 10 ms) go to the address in use only, until the periodic search.
    let lanPinged = -1;
    for (let now = 500; now <= UPGRADE_INTERVAL_MS + 500 && lanPinged < 0; now += 500) {
      p.route(now, []);
      const beat: PathAction[] = [];
      p.tick(now, beat);
      for (const a of beat) {
        if (a.kind !== 'ping' || a.via === 'relay') continue;
        if (a.via.host === WAN.host) p.pong(a.txid, WAN, now + 10);
        else {
          lanPinged = now;
          p.pong(a.txid, LAN, now + 2);
        }
      }
    }
    expect(lanPinged).toBeGreaterThanOrEqual(UPGRADE_INTERVAL_MS);
    expect(p.route(lanPinged + 20, []).udp).toEqual(LAN);
  });

  it('learns where the peer pings from, and pings back at once to open its own NAT', () => {
    const p = path([]);
    const mapped = { host: '198.51.100.4', port: 3333 };
    const out: PathAction[] = [];
    p.pingedFrom(mapped, 0, out);
    expect(pings(out)).toEqual(['198.51.100.4:3333']);
    expect(p.has(mapped)).toBe(true);
    p.pong(pingTo(out, mapped.host).txid, mapped, 4);
    expect(p.isDirect(5)).toBe(true);
    // Once direct, being pinged does not ping back (the heartbeat does that).
    const more: PathAction[] = [];
    p.pingedFrom(mapped, 6, more);
    expect(more).toEqual([]);
  });

  it('keeps what a call-me-maybe says each endpoint is, and shows it for the one in use', () => {
    const p = path([WAN]);
    const mapped = { host: '198.51.100.9', port: 5351 };
    const out: PathAction[] = [];
    p.callMeMaybe(
      [
        { ...mapped, kind: 'port-mapping' },
        { ...WAN, kind: 'stun' },
      ],
      0,
      out,
    );
    p.pong(pingTo(out, mapped.host).txid, mapped, 3);
    expect(p.status(4, true)).toMatchObject({
      path: 'direct',
      source: 'told',
      kind: 'port-mapping',
      endpoint: mapped,
    });
    // A call-me-maybe without kinds (an older peer) leaves what is known.
    p.callMeMaybe([mapped], 5, []);
    expect(p.status(6, true).kind).toBe('port-mapping');
  });

  it('tells a peer in use of our new endpoints at once, in a discovery round; one not in use is left alone', () => {
    const p = path();
    p.route(0, []);
    const out: PathAction[] = [];
    p.endpointsChanged(1000, out);
    expect(out.map((a) => a.kind)).toEqual(['ping', 'ping', 'call-me-maybe', 'ping']);
    const idle: PathAction[] = [];
    p.endpointsChanged(1000 + ACTIVE_MS + 1, idle);
    expect(idle).toEqual([]);
  });

  it('on a call-me-maybe, starts a round of its own first (the peer is called back at once), then pings what it names', () => {
    const p = path([WAN]);
    const out: PathAction[] = [];
    p.callMeMaybe([WAN, LAN], 0, out);
    const shown = (a: PathAction) => (a.kind === 'ping' ? `${pings([a])[0]} ttl ${a.ttl ?? '-'}` : a.kind);
    expect(out.map(shown)).toEqual([
      `203.0.113.7:41641 ttl ${OPEN_TTL}`,
      `192.168.1.7:41641 ttl ${OPEN_TTL}`,
      'call-me-maybe',
      'relay ttl -',
      '203.0.113.7:41641 ttl -',
      '192.168.1.7:41641 ttl -',
    ]);
    // Within the round (the peer's answer to our call-me-maybe, say): only the pings.
    const again: PathAction[] = [];
    p.callMeMaybe([WAN], 10, again);
    expect(again.map(shown)).toEqual(['203.0.113.7:41641 ttl -']);
    // With a direct path: only the pings as well.
    p.pong(pingTo(again, WAN.host).txid, WAN, 12);
    const direct: PathAction[] = [];
    p.callMeMaybe([WAN], DISCOVERY_INTERVAL_MS + 20, direct);
    expect(direct.map(shown)).toEqual(['203.0.113.7:41641 ttl -']);
  });

  it('keeps at most MAX_LEARNED learned addresses, dropping the oldest unanswered', () => {
    const p = path([]);
    for (let i = 0; i < MAX_LEARNED + 10; i++) p.pingedFrom({ host: '198.51.100.9', port: 1000 + i }, i, []);
    let known = 0;
    for (let i = 0; i < MAX_LEARNED + 10; i++) if (p.has({ host: '198.51.100.9', port: 1000 + i })) known++;
    expect(known).toBe(MAX_LEARNED);
  });

  it('drops a learned address that neither answers nor is named again, and stops pinging it', () => {
    const p = path([WAN]);
    const stale = { host: '198.51.100.9', port: 17800 };
    const fresh = { host: '198.51.100.9', port: 17900 };
    p.pingedFrom(stale, 0, []);
    p.pingedFrom(fresh, 0, []);
    // Named again a minute later: its lifetime starts over.
    p.pingedFrom(fresh, 60_000, []);
    p.route(60_000, []);
    p.tick(LEARNED_TTL_MS + 1, []);
    expect(p.has(stale)).toBe(false);
    expect(p.has(fresh)).toBe(true);
    expect(p.has(WAN)).toBe(true); // reported ones stay as long as the peer reports them
    const out: PathAction[] = [];
    p.route(LEARNED_TTL_MS + 2, out);
    p.tick(LEARNED_TTL_MS + DISCOVERY_INTERVAL_MS + 2, out);
    expect(pings(out)).not.toContain('198.51.100.9:17800');
    expect(pings(out)).toContain('198.51.100.9:17900');
  });

  it('stops probing a peer nobody uses', () => {
    const p = path();
    p.route(0, []);
    const out: PathAction[] = [];
    p.tick(ACTIVE_MS + 1, out);
    expect(out).toEqual([]);
    expect(p.timeToDirect).toBeNull();
  });

  it('stops trusting the address in use when the peer no longer reports it, and searches again', () => {
    const p = path();
    const out: PathAction[] = [];
    p.route(0, out);
    p.pong(pingTo(out, WAN.host).txid, WAN, 3);
    const moved = { host: WAN.host, port: 5555 };
    p.setReported([moved]);
    expect(p.has(LAN)).toBe(false);
    // The old address is still tried, but the relay carries packets until a pong says otherwise.
    const again: PathAction[] = [];
    expect(p.route(4, again)).toEqual({ udp: WAN, relay: true });
    expect(pings(again)).toEqual(['203.0.113.7:41641', '203.0.113.7:5555', 'relay']);
    const toMoved = again.find((a) => a.kind === 'ping' && a.via !== 'relay' && a.via.port === 5555);
    p.pong((toMoved as Extract<PathAction, { kind: 'ping' }>).txid, moved, 6);
    expect(p.route(7, [])).toEqual({ udp: moved, relay: false });
  });

  it('forgets trust when told the peer came back, so packets take the relay until it answers', () => {
    const p = path([WAN]);
    const out: PathAction[] = [];
    p.route(0, out);
    p.pong(pingTo(out, WAN.host).txid, WAN, 3);
    p.forgetTrust();
    const again: PathAction[] = [];
    expect(p.route(4, again)).toEqual({ udp: WAN, relay: true });
    expect(pings(again)).toContain('203.0.113.7:41641');
  });

  it('copies packets to the likeliest address only for a while: from the first packet, after trust lapses, after a return', () => {
    const p = path([WAN]);
    const out: PathAction[] = [];
    // A peer that never answers directly (its UDP is blocked): copies for GUESS_MS, then the relay alone.
    expect(p.route(0, out)).toEqual({ udp: WAN, relay: true });
    expect(p.route(GUESS_MS - 1, [])).toEqual({ udp: WAN, relay: true });
    expect(p.route(GUESS_MS, [])).toEqual({ udp: null, relay: true });
    // It answers a discovery ping after all: direct; then it stops answering, and the copies come
    // back for a while.
    const later: PathAction[] = [];
    expect(p.route(10 * GUESS_MS, later)).toEqual({ udp: null, relay: true });
    p.pong(pingTo(later, WAN.host).txid, WAN, 10 * GUESS_MS + 5);
    expect(p.route(10 * GUESS_MS + 6, [])).toEqual({ udp: WAN, relay: false });
    const lapsed = 10 * GUESS_MS + 5 + TRUST_MS;
    expect(p.route(lapsed, [])).toEqual({ udp: WAN, relay: true });
    expect(p.route(lapsed + GUESS_MS, [])).toEqual({ udp: null, relay: true });
    // The peer came back after being offline: copies again.
    p.forgetTrust();
    expect(p.route(lapsed + 2 * GUESS_MS, [])).toEqual({ udp: WAN, relay: true });
    expect(p.route(lapsed + 3 * GUESS_MS, [])).toEqual({ udp: null, relay: true });
  });

  it('says how the direct address in use was found: told by the peer, or a ping of its came from it', () => {
    const p = path();
    const out: PathAction[] = [];
    p.route(0, out);
    p.pong(pingTo(out, WAN.host).txid, WAN, 5);
    expect(p.status(5, true)).toMatchObject({ path: 'direct', source: 'told', endpoint: WAN });

    // An address the peer never told us of: its NAT's mapping toward us (peer-reflexive).
    const q = path();
    const reflexive = { host: '198.51.100.9', port: 17800 };
    const back: PathAction[] = [];
    q.pingedFrom(reflexive, 0, back);
    q.pong(pingTo(back, reflexive.host).txid, reflexive, 3);
    expect(q.status(3, true)).toMatchObject({ path: 'direct', source: 'pinged', endpoint: reflexive });
    // Once the peer tells of it too (a call-me-maybe), it counts as told.
    q.callMeMaybe([reflexive], 4, []);
    expect(q.status(4, true).source).toBe('told');
    expect(q.status(TRUST_MS + 10, true)).toMatchObject({ path: 'relay', source: null });
  });
});
