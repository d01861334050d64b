/**
 * A trace report: the life of one packet through Burrow, as `burrow trace`, the LocalAPI's `trace`
 * operation and the app's journey view show it (issue 18). The schema types it and checks it
 * where it arrives (the CLI and the app parse every LocalAPI response).
 *
 * A report always has the seven stages, in the order the packet lives them (STAGES). Each has a
 * status:
 *  - ok: the packet passes this stage;
 *  - blocked: it stops here. Only the first stage that stops the packet is blocked; the report's
 *    `blockedAt`, `cause` and `fix` repeat its cause and fix, and the exit code is 1;
 *  - skipped: not looked at, because an earlier stage stopped the packet (or it does not apply:
 *    delivery of a ping is its echo reply, there is no port);
 *  - unknown: looked at, but no answer came (a peer whose burrowd does not answer trace probes):
 *    it does not stop the packet.
 * `cause` is one sentence naming what stops the packet ("bob has Shields Up on webcam"), `fix` one
 * sentence saying what would let it through. Both are null for a stage that is not blocked.
 */
import { ip } from '../control/messages.js';
import { array, boolean, type Infer, integer, literal, nullable, object, string } from '../control/schema.js';

export const STAGES = [
  'destination',
  'route',
  'inside',
  'wireguard',
  'path',
  'peer-verdict',
  'delivery',
] as const;
export type StageName = (typeof STAGES)[number];

/** How each stage is titled in the CLI and the journey view. */
export const STAGE_TITLES: Readonly<Record<StageName, string>> = {
  destination: 'Destination',
  route: 'Route',
  inside: 'Inside burrowd',
  wireguard: 'WireGuard',
  path: 'Path',
  'peer-verdict': "Peer's verdict",
  delivery: 'Delivery',
};

const text = (max: number) => string({ max });
const sentence = nullable(text(512));
const ms = integer({ min: 0, max: 3_600_000 });

export const stageName = literal(...STAGES);
export const stageStatus = literal('ok', 'blocked', 'skipped', 'unknown');
export type StageStatus = Infer<typeof stageStatus>;
export const traceProtocol = literal('tcp', 'udp', 'icmp');

export const traceStage = object({
  name: stageName,
  title: text(64),
  status: stageStatus,
  /** How long the stage took, for stages that wait on something (a lookup, a handshake, a probe). */
  ms: nullable(ms),
  /** One line: what happened here ("table 52 via rule 5270 to burrow0"). */
  summary: text(512),
  /** Facts of the stage, labelled, in the order shown ("last handshake": "12 s ago"). */
  details: array(object({ label: text(64), value: text(512) }), { max: 16 }),
  cause: sentence,
  fix: sentence,
});
export type TraceStage = Infer<typeof traceStage>;

export const traceReport = object({
  target: object({
    /** What was asked, as typed: a name or an address. */
    query: text(253),
    /** The device the name or address belongs to (its short name), if it is one of the map's. */
    name: nullable(text(253)),
    /** The address the packet goes to; null if the name did not resolve. */
    ip: nullable(ip),
    protocol: traceProtocol,
    /** The destination port; null for icmp. */
    port: nullable(integer({ min: 1, max: 65535 })),
  }),
  /** The peer whose allowed IPs hold the destination (stage inside), if any. */
  peer: nullable(object({ id: string({ min: 1, max: 64 }), name: text(63) })),
  /** Always the seven STAGES, in order. */
  stages: array(traceStage, { max: STAGES.length }),
  /** The packet would be delivered: no stage is blocked. */
  delivered: boolean,
  blockedAt: nullable(stageName),
  cause: sentence,
  fix: sentence,
  /** The CLI's exit code: 0 delivered, 1 blocked. */
  exitCode: literal(0, 1),
  /** From the start of the trace to its end. */
  totalMs: ms,
});
export type TraceReport = Infer<typeof traceReport>;
