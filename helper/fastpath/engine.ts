import type { Peer } from '../../src/wireguard/peer.js';
import type { UdpBind } from '../bind/bind.js';
import { LinuxBind } from '../bind/linux-bind.js';
import type { FastEngine } from '../burrowd/datapath.js';
import type { LinuxTun } from '../tun/linux-tun.js';
import type { NativeFastPath } from './native-fast-path.js';

/** Whether burrowd carries established sessions in its native fast path (BURROW_FAST_PATH=0: not). */
export function fastPathEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.BURROW_FAST_PATH !== '0';
}

/**
 * The native fast path's engine for the datapath: while started, it reads `tun` (opened with vnet
 * headers) and the bind's socket itself, and the datapath sees only what it punts.
 */
export class NativeFastEngine implements FastEngine {
  constructor(
    readonly fastPath: NativeFastPath,
    private readonly tun: LinuxTun,
  ) {}

  start(bind: UdpBind, onRekey: (peers: Peer[]) => void): void {
    if (!(bind instanceof LinuxBind)) throw new TypeError('the fast path engine needs a LinuxBind');
    this.fastPath.attach(this.tun, bind, onRekey);
  }

  stop(): void {
    this.fastPath.detach();
  }

  set armed(at: number) {
    this.fastPath.armed = at;
  }
}
