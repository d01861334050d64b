import type { UdpBind } from '../bind/bind.js';
import { LinuxBind } from '../bind/linux-bind.js';
import type { FastEngine } from '../burrowd/datapath.js';
import type { LinuxTun } from '../tun/linux-tun.js';
import type { EngineHandlers, NativeFastPath } from './native-fast-path.js';

/** Whether burrowd carries established sessions in its native fast path (BURROW_FAST_PATH=0: not). */
export function fastPathEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.BURROW_FAST_PATH !== '0';
}

/**
 * The native fast path's engine for the datapath: while started, it reads `tun` (opened with vnet
 * headers) and the UDP socket itself, and the datapath sees only what it punts. The socket is the
 * datapath's bind, or `socket` when that bind is a layer over it (the mesh's path conn).
 */
export class NativeFastEngine implements FastEngine {
  constructor(
    readonly fastPath: NativeFastPath,
    private readonly tun: LinuxTun,
    private readonly socket: LinuxBind | null = null,
  ) {}

  start(bind: UdpBind, handlers: EngineHandlers, gated: boolean): void {
    const socket = this.socket ?? bind;
    if (!(socket instanceof LinuxBind)) throw new TypeError('the fast path engine needs a LinuxBind');
    this.fastPath.gated = gated;
    this.fastPath.attach(this.tun, socket, handlers);
  }

  stop(): void {
    this.fastPath.detach();
  }

  set armed(at: number) {
    this.fastPath.armed = at;
  }
}
