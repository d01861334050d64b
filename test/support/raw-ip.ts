/**
 * Sends IP packets of any protocol from a namespace, through its kernel (a raw socket: the kernel
 * writes the IP header, so the source is the namespace's own address on the way out). Node has no
 * raw sockets; python3-minimal (installed by scripts/setup) has.
 */
import type { Netns } from './netns.js';

const SENDER = `
import socket, sys, time
proto, dst, gap = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ':' in dst else socket.AF_INET, socket.SOCK_RAW, proto)
for line in sys.stdin:
    if line.strip():
        s.sendto(bytes.fromhex(line.strip()), (dst, 0))
        time.sleep(gap)
`;

/**
 * Sends each payload as one IP packet of `protocol` to `dst` from `ns`, `gapMs` apart (a flood
 * sent at once overflows queues on the way, and what arrives is then left to chance).
 */
export async function sendRawIp(
  ns: Netns,
  dst: string,
  protocol: number,
  payloads: Uint8Array[],
  gapMs = 0,
): Promise<void> {
  const input = payloads.map((p) => Buffer.from(p).toString('hex')).join('\n');
  await ns.exec('python3', ['-c', SENDER, String(protocol), dst, String(gapMs / 1000)], {
    input: `${input}\n`,
    timeout: 60_000,
  });
}
