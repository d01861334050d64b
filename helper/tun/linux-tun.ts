import { type NativeHandle, type NativeTunStats, native } from '../native/index.js';
import type { TunDevice } from './tun.js';

/** Linux's IFNAMSIZ: interface names are at most 15 bytes, plus the NUL. */
export const IFNAMSIZ = 16;

export interface TunOptions {
  /**
   * Most packets per onPackets call, 1 to 1024 (default 128). A batch also ends when the device has
   * no more packets, or when about 1 MiB has been read.
   */
  batchSize?: number;
  /**
   * Opens it with IFF_VNET_HDR, so that the fast path's engine can turn on the TUN offloads (TSO
   * reads, GRO writes) when it attaches (helper/fastpath). Reads and writes here stay plain packets.
   */
  vnet?: boolean;
}

export type TunStats = NativeTunStats;

/**
 * A TUN interface (IFF_TUN | IFF_NO_PI) on /dev/net/tun, read in batches from the event loop. Not
 * persistent: close() (or the process ending) removes it. While it is reading it keeps the event loop
 * alive; once closed it does not.
 */
export class LinuxTun implements TunDevice {
  readonly name: string;
  readonly #handle: NativeHandle;
  #closed = false;
  #reading = false;
  #onPackets: ((packets: Uint8Array[]) => void) | undefined;
  #onError: ((error: Error) => void) | undefined;

  /** Use openTun. */
  constructor(handle: NativeHandle, name: string) {
    this.#handle = handle;
    this.name = name;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts reading (or replaces the callback). Each batch's packets are views into one fresh
   * ArrayBuffer that is never reused: the callback may keep them.
   */
  onPackets(callback: (packets: Uint8Array[]) => void): void {
    this.#assertOpen();
    this.#onPackets = callback;
    if (this.#reading) return;
    native().tunStart(this.#handle, (buffer, count, error) => {
      if (buffer === undefined) {
        this.#fail(error ?? new Error(`TUN ${this.name}: reading stopped`));
        return;
      }
      this.#onPackets?.(splitPackets(buffer, count));
    });
    this.#reading = true;
  }

  /**
   * Called when reading fails (the interface was deleted, say); reading has then stopped for good and
   * the device should be closed. Without
   * an error callback the error is thrown from the event loop, as an EventEmitter's 'error' would be.
   */
  onError(callback: (error: Error) => void): void {
    this.#onError = callback;
  }

  /**
   * Writes each packet with one write(2), never blocking. Returns how many the kernel took; the rest
   * are counted in stats() (writeDropped when the queue is full, writeErrors otherwise). Throws a
   * TypeError, writing nothing, if any element is not a Uint8Array.
   */
  write(packets: Uint8Array[]): number {
    if (!Array.isArray(packets)) throw new TypeError('packets must be an array of Uint8Array');
    this.#assertOpen();
    return native().tunWrite(this.#handle, packets);
  }

  stats(): TunStats {
    return native().tunStats(this.#handle);
  }

  /** The addon's handle, for the fast path's engine (helper/fastpath), which reads it while attached. */
  nativeHandle(): NativeHandle {
    this.#assertOpen();
    return this.#handle;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reading = false;
    native().tunClose(this.#handle);
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`TUN ${this.name} is closed`);
  }

  #fail(error: Error): void {
    if (!this.#onError) throw error;
    this.#onError(error);
  }
}

/**
 * Whether a TUN's read error means its interface was deleted (`ip link del`): the read fails with
 * EBADFD, or, when the kernel has marked the device as going before a read saw it (the read then
 * finds nothing), the poll fails (POLLERR, which libuv reports as EBADF). A TUN's poll fails for no
 * other reason (Linux's tun_chr_poll: only a detached or unregistering device).
 */
export function interfaceDeleted(error: Error): boolean {
  const { code, syscall } = error as NodeJS.ErrnoException;
  return code === 'EBADFD' || (code === 'EBADF' && syscall === 'poll');
}

/** The packets of a native batch: back to back, then a uint32 length per packet at the end. */
function splitPackets(buffer: ArrayBuffer, count: number): Uint8Array[] {
  const lengths = new Uint32Array(buffer, buffer.byteLength - 4 * count, count);
  const packets: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = lengths[i]!;
    packets.push(new Uint8Array(buffer, offset, length));
    offset += length;
  }
  return packets;
}

/**
 * Creates (or attaches to) the TUN interface `name`; a name with "%d" lets the kernel number it, and
 * the name it chose is `.name`. Needs CAP_NET_ADMIN. Addresses, MTU and link state are the routing
 * module's job. A persistent TUN of that name (from `ip tuntap add`) is attached to, and outlives
 * close(); one held open by another process fails with EBUSY.
 */
export function openTun(name: string, options: TunOptions = {}): LinuxTun {
  if (typeof name !== 'string') throw new TypeError('TUN name must be a string');
  const bytes = Buffer.byteLength(name);
  if (bytes >= IFNAMSIZ) {
    throw new RangeError(
      `TUN name "${name}" is ${bytes} bytes long; Linux allows at most ${IFNAMSIZ - 1} (IFNAMSIZ ${IFNAMSIZ}, with the NUL)`,
    );
  }
  if (name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw new TypeError(`TUN name "${name}" is not a valid interface name (no "/", ":" or whitespace)`);
  }
  const batch = options.batchSize ?? 128;
  if (!Number.isInteger(batch) || batch < 1 || batch > 1024) {
    throw new RangeError(`batchSize must be an integer from 1 to 1024, got ${batch}`);
  }
  const opened = native().tunOpen(name, batch, options.vnet ?? false);
  return new LinuxTun(opened.handle, opened.name);
}
