/**
 * What one relay client may cost the relay. The byte rate counts the sealed bytes of every frame a
 * client sends (so framing and pings count too); the packet rate counts its WireGuard packets, each
 * packet of a batch frame (relay version 2) as one, and pings. Both are enforced by pausing reads,
 * so TCP pushes back on the sender; the queue bound is what the relay buffers towards one slow
 * receiver before it drops.
 */
export interface RelayLimits {
  /** Sustained bytes per second one client may send. */
  bytesPerSecond: number;
  /** Bytes one client may send at once after being quiet. */
  byteBurst: number;
  /** Sustained packets per second one client may send. */
  packetsPerSecond: number;
  /** Packets one client may send at once after being quiet. */
  packetBurst: number;
  /** Unsent bytes the relay holds for one client; packets to it beyond this are dropped. */
  maxQueueBytes: number;
  /** A connection with no traffic either way for this long is closed (devices ping every 30 s). */
  idleTimeoutMs: number;
  /** Time from the upgrade to a complete first message. */
  handshakeTimeoutMs: number;
  /** How far a hello's timestamp may be from the relay's clock. */
  helloWindowMs: number;
  /** Sustained handshakes per second from one address (devices behind one NAT share it). */
  handshakesPerSecond: number;
  /** Handshakes one address may make at once, e.g. when every device reconnects after a restart. */
  handshakeBurst: number;
  /**
   * Connections one address may hold at once, handshaking and connected together: each device
   * keeps one, so this bounds the devices behind one NAT, and what one host can make the relay hold.
   */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = {
  bytesPerSecond: 8 << 20,
  byteBurst: 1 << 20,
  packetsPerSecond: 20_000,
  packetBurst: 2_000,
  maxQueueBytes: 1 << 20,
  idleTimeoutMs: 75_000,
  handshakeTimeoutMs: 10_000,
  helloWindowMs: 120_000,
  handshakesPerSecond: 20,
  handshakeBurst: 200,
  maxConnectionsPerAddress: 256,
};
