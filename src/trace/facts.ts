/**
 * What burrowd gathers for a trace, stage by stage, for buildTraceReport (trace-report.ts) to
 * judge. Each stage's facts are what that stage observed; a stage burrowd did not reach (because an
 * earlier one stopped the packet) is left undefined and shows as skipped. Times are in ms:
 * durations measured by burrowd, and `now` and `lastSeen`-style instants on the same clock as
 * Date.now().
 */
import type { PathFound } from '../localapi/api.js';
import type { ProbeAnswer } from './probe-message.js';

export type TraceProtocol = 'tcp' | 'udp' | 'icmp';

export interface TraceFacts {
  readonly query: {
    /** As the user typed it: "webcam", "webcam.team.burrow.internal", "100.64.0.2". */
    readonly target: string;
    readonly protocol: TraceProtocol;
    /** The destination port; null for icmp. */
    readonly port: number | null;
  };
  /** This device: names for the sentences ("policy of network team has no rule letting alice ..."). */
  readonly self: { readonly name: string; readonly user: string; readonly network: string };
  /** When the trace is judged, for "offline for 3 h". */
  readonly now: number;
  readonly totalMs: number;
  readonly destination?: DestinationFacts;
  readonly route?: RouteFacts;
  readonly inside?: InsideFacts;
  readonly wireguard?: WireguardFacts;
  readonly path?: PathFacts;
  readonly peerVerdict?: PeerVerdictFacts;
  readonly delivery?: DeliveryFacts;
}

/** Stage 1: the name resolved (through MagicDNS, the system's DNS), or taken as an address. */
export type DestinationFacts =
  | {
      readonly resolved: true;
      readonly ip: string;
      /** magicdns: a device name of the map; dns: any other name; address: typed as an address. */
      readonly via: 'magicdns' | 'dns' | 'address';
      /** The device's short name, when the address is one of the map's devices. */
      readonly device: string | null;
      readonly ms: number;
    }
  | { readonly resolved: false; readonly error: string; readonly ms: number };

/** Stage 2: the kernel's route for the address (netlink RTM_GETROUTE, as `ip route get`). */
export type RouteFacts =
  | {
      /** Table 52, reached through rule 5270, out of Burrow's interface. */
      readonly kind: 'burrow';
      readonly table: number;
      readonly rule: number | null;
      readonly dev: string;
      /** The prefix of table 52 that matched: a peer's address, a subnet route, or a default route. */
      readonly prefix: string;
      /** The prefix is a default route (0.0.0.0/0, ::/0): the exit node's. */
      readonly exitNode: boolean;
      readonly ms: number;
    }
  | {
      /** Any other table (the main one): the packet is not Burrow's. */
      readonly kind: 'other';
      readonly table: number;
      readonly dev: string | null;
      readonly gateway: string | null;
      readonly ms: number;
    }
  | {
      /** Table 52 has no route because a peer offers the subnet but --accept-routes is off. */
      readonly kind: 'routes-not-accepted';
      readonly prefix: string;
      readonly offeredBy: string;
      readonly ms: number;
    }
  | { readonly kind: 'unreachable'; readonly error: string; readonly ms: number };

/** Stage 3: burrowd's own view: whose allowed IPs hold the address, the exit node, the local checks. */
export interface InsideFacts {
  /** burrowd's state: the tunnel carries packets only while running. */
  readonly backendState: 'stopped' | 'needs-login' | 'starting' | 'running';
  /** The peer whose allowed IPs hold the address, and the prefix that does; null if none. */
  readonly peer: {
    readonly id: string;
    readonly name: string;
    /** Its owner (for "bob has Shields Up on webcam") and its network (whose policy it enforces). */
    readonly user: string;
    readonly network: string;
    readonly online: boolean;
    /** When the control server last saw it (ms), or null if never. */
    readonly lastSeen: number | null;
    readonly allowedIp: string;
    /** A device shared with us from another network. */
    readonly shared: boolean;
  } | null;
  /**
   * The exit node chosen, if any, and whether it is missing (not in the map, offline or no longer
   * offering): then the default routes hold internet traffic in the tunnel, and it is dropped.
   */
  readonly exitNode: { readonly name: string; readonly missing: boolean } | null;
}

/** Stage 4: the WireGuard session with the peer, or the handshake made now. */
export interface WireguardFacts {
  /** A session that was already there: its age and the last handshake (ms ago). */
  readonly session: { readonly ageMs: number; readonly lastHandshakeAgoMs: number } | null;
  /** A handshake started for the trace because there was no session; null if none was needed. */
  readonly handshake: { readonly completed: boolean; readonly ms: number } | null;
}

/** Stage 5: how packets reach the peer, and a disco ping's round trip on that path. */
export interface PathFacts {
  readonly kind: 'direct' | 'relay' | 'none';
  /** direct: ip:port in use, and how it was found (as `burrow status` says; null: not known). */
  readonly endpoint: string | null;
  readonly foundBy: PathFound | null;
  /** relay: the region's name. */
  readonly relay: string | null;
  /** The disco ping's round trip; null if it got no pong. */
  readonly rttMs: number | null;
}

/** Stage 6: the peer's answer to the trace probe, or null if none came before the timeout. */
export interface PeerVerdictFacts {
  readonly answer: ProbeAnswer | null;
  readonly ms: number;
}

/**
 * Stage 7: the packet sent through the tunnel. tcp: a SYN, answered by SYN-ACK (listening), RST
 * (refused) or nothing. udp: a datagram, answered by ICMP port unreachable (refused) or, usually,
 * nothing. icmp: an echo request, answered by a reply or nothing.
 */
export interface DeliveryFacts {
  readonly outcome: 'listening' | 'refused' | 'no-answer' | 'echo-reply';
  readonly ms: number;
}
