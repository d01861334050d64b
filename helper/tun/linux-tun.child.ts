/**
 * The process side of linux-tun.test.ts: runs one scenario against a real TUN device and prints one
 * JSON line. Started inside a test namespace (it creates interfaces, so never in the root one):
 *   ip netns exec NS node --import tsx helper/tun/linux-tun.child.ts SCENARIO NAME
 * It never calls process.exit on success: a scenario that closes its device must let the process
 * end by itself, which shows that a closed device does not keep the event loop alive.
 */
import { execFileSync, spawn } from 'node:child_process';
import { done, errorOf, timeout } from '../../test/support/child-script.js';
import { ipv4 } from '../../test/support/ip-packet.js';
import { openTun } from './linux-tun.js';

const [scenario = '', name = 'bt0'] = process.argv.slice(2);
const TUN_ADDR = '192.0.2.1';
const PEER = '192.0.2.2';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** What the routing module does for burrowd, minimally. */
function linkUp(dev: string): void {
  ip('link', 'set', dev, 'up', 'mtu', '1420');
  ip('address', 'add', `${TUN_ADDR}/24`, 'dev', dev);
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An ICMP echo request or reply in an IPv4 packet, both checksums computed. */
function icmpEcho(
  src: string,
  dst: string,
  type: 0 | 8,
  id: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  const icmp = new Uint8Array(8 + payload.length);
  const view = new DataView(icmp.buffer);
  icmp[0] = type;
  view.setUint16(4, id);
  view.setUint16(6, seq);
  icmp.set(payload, 8);
  view.setUint16(2, checksum(icmp));
  return ipv4(src, dst, icmp, 1);
}

interface Echo {
  type: number;
  id: number;
  seq: number;
  src: string;
  dst: string;
  payload: Uint8Array;
  checksumsValid: boolean;
}

function parseEcho(packet: Uint8Array): Echo | undefined {
  if (packet.length < 28 || packet[0] !== 0x45 || packet[9] !== 1) return undefined;
  const icmp = packet.subarray(20);
  const view = new DataView(icmp.buffer, icmp.byteOffset, icmp.byteLength);
  if (icmp[0] !== 0 && icmp[0] !== 8) return undefined;
  return {
    type: icmp[0]!,
    id: view.getUint16(4),
    seq: view.getUint16(6),
    src: packet.subarray(12, 16).join('.'),
    dst: packet.subarray(16, 20).join('.'),
    payload: icmp.subarray(8),
    checksumsValid: checksum(packet.subarray(0, 20)) === 0 && checksum(icmp) === 0,
  };
}

const scenarios: Record<string, () => void> = {
  /** An echo request written to the TUN is answered by the kernel; the reply is read back. */
  echo() {
    const tun = openTun(name);
    linkUp(tun.name);
    const payload = new TextEncoder().encode('burrow tun echo test');
    const timer = timeout(10_000, 'echo reply');
    tun.onPackets((packets) => {
      for (const p of packets) {
        const echo = parseEcho(p);
        if (echo?.type !== 0 || echo.id !== 0x4242) continue;
        clearTimeout(timer);
        const stats = tun.stats();
        tun.close();
        done({
          name: tun.name,
          reply: { ...echo, payload: new TextDecoder().decode(echo.payload) },
          stats,
        });
      }
    });
    tun.write([icmpEcho(PEER, TUN_ADDR, 8, 0x4242, 7, payload)]);
  },

  /** ping from the namespace to an address routed into the TUN; this side answers the requests. */
  ping() {
    const tun = openTun(name);
    linkUp(tun.name);
    const requests: number[] = [];
    const batchSizes: number[] = [];
    tun.onPackets((packets) => {
      batchSizes.push(packets.length);
      const replies: Uint8Array[] = [];
      for (const p of packets) {
        const echo = parseEcho(p);
        if (echo?.type !== 8 || echo.dst !== '192.0.2.9') continue;
        requests.push(echo.seq);
        replies.push(icmpEcho(echo.dst, echo.src, 0, echo.id, echo.seq, echo.payload));
      }
      tun.write(replies);
    });
    const timer = timeout(15_000, 'ping');
    const ping = spawn('ping', ['-c', '3', '-i', '0.2', '-W', '2', '192.0.2.9'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    ping.stdout.on('data', (d) => {
      output += d;
    });
    ping.on('exit', (code) => {
      clearTimeout(timer);
      tun.close();
      done({ pingExit: code, requests, batchSizes, output, stats: tun.stats() });
    });
  },

  /** 500 echo requests in one write; the kernel's 500 replies come back in fewer callbacks. */
  batch() {
    const tun = openTun(name);
    linkUp(tun.name);
    ip('link', 'set', tun.name, 'txqueuelen', '1000'); // the default (500) would be exactly full
    const count = 500;
    const seen = new Set<number>();
    let callbacks = 0;
    let packets = 0;
    let bad = 0;
    let written = 0;
    const timer = timeout(10_000, 'batch replies');
    tun.onPackets((batch) => {
      callbacks++;
      packets += batch.length;
      for (const p of batch) {
        const echo = parseEcho(p);
        if (echo?.type !== 0 || echo.id !== 0x5151) continue;
        if (!echo.checksumsValid || echo.payload.length !== 64) bad++;
        seen.add(echo.seq);
      }
      if (seen.size === count) {
        clearTimeout(timer);
        const stats = tun.stats();
        tun.close();
        done({ written, replies: seen.size, callbacks, packets, bad, stats });
      }
    });
    const requests: Uint8Array[] = [];
    for (let seq = 0; seq < count; seq++) {
      requests.push(icmpEcho(PEER, TUN_ADDR, 8, 0x5151, seq, new Uint8Array(64).fill(seq & 0xff)));
    }
    written = tun.write(requests);
  },

  /**
   * A reading device keeps the process alive (the only timer is unref'd); closing it removes the
   * interface, and the process then ends by itself.
   */
  close() {
    const tun = openTun(name);
    linkUp(tun.name);
    tun.onPackets(() => undefined);
    const before = execFileSync('ip', ['-o', 'link', 'show', tun.name]).toString();
    setTimeout(() => {
      tun.close();
      tun.close(); // idempotent
      let after: string;
      try {
        execFileSync('ip', ['link', 'show', tun.name], { stdio: ['ignore', 'ignore', 'pipe'] });
        after = 'still there';
      } catch (e) {
        after = String((e as { stderr?: Buffer }).stderr ?? e).trim();
      }
      done({
        existedBefore: before.includes(tun.name),
        after,
        writeAfterClose: errorOf(() => tun.write([])),
      });
    }, 300).unref();
  },

  /** Deleting the interface under a reading device stops reading with an error naming the cause. */
  deleted() {
    const tun = openTun(name);
    linkUp(tun.name);
    const timer = timeout(10_000, 'read error');
    tun.onError((error) => {
      clearTimeout(timer);
      const { message, code } = error as Error & { code?: string };
      tun.close();
      done({ message, code });
    });
    tun.onPackets(() => undefined);
    setTimeout(() => ip('link', 'del', tun.name), 100);
  },

  /** Bad input gives clear errors and no crash. */
  bad() {
    const tooLong = errorOf(() => openTun('burrow-too-long-name'));
    const slash = errorOf(() => openTun('a/b'));
    const kernelNumbered = openTun('btest%d');
    const tun = openTun(name);
    linkUp(tun.name);
    const notArray = errorOf(() => tun.write('nope' as unknown as Uint8Array[]));
    const notBytes = errorOf(() => tun.write([new Uint8Array(28), 'x' as unknown as Uint8Array]));
    const wrongView = errorOf(() => tun.write([new Uint16Array(14) as unknown as Uint8Array]));
    const before = tun.stats();
    // Not an IP packet (version 0): the kernel refuses it; counted, not thrown.
    const garbage = tun.write([new Uint8Array(40)]);
    const after = tun.stats();
    const numberedName = kernelNumbered.name;
    kernelNumbered.close();
    tun.close();
    done({ tooLong, slash, notArray, notBytes, wrongView, before, garbage, after, numberedName });
  },
};

const run = scenarios[scenario];
if (!run) {
  process.stderr.write(`unknown scenario ${scenario}\n`);
  process.exit(2);
}
run();
