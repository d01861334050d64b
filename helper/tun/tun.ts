/** A TUN interface: IP packets in and out, in batches. The Linux implementation is in linux-tun.ts. */
export interface TunDevice {
  /** The interface name the kernel gave it (may differ from the one asked for if that had a %d). */
  readonly name: string;
  /**
   * Starts delivering packets read from the interface, as batches; each packet is a complete IP
   * packet. The callback must not keep references to the arrays after it returns unless it copies.
   */
  onPackets(callback: (packets: Uint8Array[]) => void): void;
  /** Writes IP packets to the interface (delivers them to the kernel). Drops, never blocks, when full. */
  write(packets: Uint8Array[]): void;
  /** Closes the file descriptor; the kernel removes a non-persistent interface. */
  close(): void;
}
