/** A TUN interface: IP packets in and out, in batches. The Linux implementation is in linux-tun.ts. */
export interface TunDevice {
  /** The interface name the kernel gave it (may differ from the one asked for if that had a %d). */
  readonly name: string;
  /**
   * Starts delivering packets read from the interface, as batches; each packet is a complete IP
   * packet. A batch's packets are views into one fresh buffer that is never reused, so the callback
   * may keep them (the protocol core stages packets by reference while a handshake is pending).
   * Keeping one packet keeps its whole batch buffer alive (up to about 180 KiB for 128 packets of
   * 1420 bytes): copy (slice) packets that are kept for long. Calling it again replaces the callback.
   */
  onPackets(callback: (packets: Uint8Array[]) => void): void;
  /** Writes IP packets to the interface (delivers them to the kernel). Drops, never blocks, when full. */
  write(packets: Uint8Array[]): void;
  /** Closes the file descriptor; the kernel removes a non-persistent interface. */
  close(): void;
}
