/**
 * A home router that randomises every outbound port (fully-random SNAT: hole punching cannot guess
 * its ports) and maps ports on request: miniupnpd from Debian (`miniupnpd-nftables`), with NAT-PMP
 * (and PCP, which it serves on the same socket) and/or UPnP IGD on, or none of them.
 *
 * The router's rules and miniupnpd's chains share one nftables table, as on OpenWrt: nftables
 * accepts a packet only if every base chain does, so the forward chain must jump to miniupnpd's
 * chain (which accepts the mapped ports) before it drops unsolicited packets from the WAN.
 *
 * miniupnpd refuses to map on a private or reserved external address, which the lab LAN's are, so
 * the router also holds a public-looking address (11.99.0.N, routed to it by the hub; the lab is
 * sealed in namespaces, so no real host of that network is ever reached) and translates to it.
 * Its config, pid and lease file live in a temporary directory that `stop` removes.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouterSetup } from './mesh-lab.js';
import { type Netns, waitFor } from './netns.js';

const TABLE = 'burrow_pm';
export const MINIUPNPD = '/usr/sbin/miniupnpd';

export interface PortmapRouterOptions {
  natpmp: boolean;
  upnp: boolean;
  /**
   * In place of miniupnpd, a fake gateway that answers every NAT-PMP, PCP and SSDP request with
   * malformed answers, and the same again well-formed from another address of the router's.
   */
  fake?: boolean;
  /** Seconds: miniupnpd's shortest NAT-PMP/PCP lifetime (tests ask for short ones). */
  minLifetime?: number;
}

export interface PortmapRouter {
  /** The address the router translates to, and maps on. */
  externalIp(): string;
  /** miniupnpd's lease file lines (`UDP:EXTPORT:INTIP:INTPORT:EXPIRY:DESC`); [] without miniupnpd. */
  leases(): string[];
  /** The DNAT rules miniupnpd added, as `nft list chain` prints them. */
  redirects(): Promise<string>;
  /** Stops miniupnpd (its exit deletes its rules and leases) and removes its directory. */
  stop(): Promise<void>;
}

export function hasMiniupnpd(): boolean {
  return spawnSync(MINIUPNPD, ['--version'], { stdio: 'ignore' }).status !== null;
}

export function portmapRuleset(wan: string, externalIp: string): string {
  return `
table inet ${TABLE} {
  chain miniupnpd {
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "${wan}" jump miniupnpd
    iifname "${wan}" ct state new drop
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "${wan}" meta l4proto { tcp, udp } ct state new drop
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "${wan}" jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    jump postrouting_miniupnpd
    oifname "${wan}" snat ip to ${externalIp} random
  }
}
`;
}

/**
 * A RouterSetup for MeshLab.natHost/natDevice; `handle` receives the router once it is set up.
 * With neither NAT-PMP nor UPnP, no miniupnpd runs: a plain fully-random router.
 */
export function portmapRouter(
  options: PortmapRouterOptions,
  handle: (r: PortmapRouter) => void,
): RouterSetup {
  return async ({ router, wan, lan, publicIp, subnet, hub }) => {
    const externalIp = `11.99.0.${publicIp.split('.')[3]}`;
    await router.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await router.exec('ip', ['addr', 'add', `${externalIp}/32`, 'dev', wan]);
    await hub.exec('ip', ['route', 'add', `${externalIp}/32`, 'via', publicIp]);
    await router.exec('nft', ['-f', '-'], { input: portmapRuleset(wan, externalIp) });
    if (options.fake) {
      handle(await startFakeGateway(router, lan, subnet));
      return;
    }
    if (!options.natpmp && !options.upnp) {
      handle({
        externalIp: () => externalIp,
        leases: () => [],
        redirects: async () => '',
        stop: async () => {},
      });
      return;
    }
    handle(await startMiniupnpd(router, { ...options, wan, lan, subnet, externalIp }));
  };
}

async function startMiniupnpd(
  router: Netns,
  options: PortmapRouterOptions & { wan: string; lan: string; subnet: string; externalIp: string },
): Promise<PortmapRouter> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-miniupnpd-'));
  const leaseFile = join(dir, 'leases');
  const config = join(dir, 'miniupnpd.conf');
  writeFileSync(
    config,
    [
      `ext_ifname=${options.wan}`,
      `ext_ip=${options.externalIp}`,
      `listening_ip=${options.lan}`,
      'port=5000',
      `enable_natpmp=${options.natpmp ? 'yes' : 'no'}`,
      `enable_upnp=${options.upnp ? 'yes' : 'no'}`,
      `lease_file=${leaseFile}`,
      'secure_mode=yes',
      'system_uptime=yes',
      'clean_ruleset_interval=600',
      `min_lifetime=${options.minLifetime ?? 120}`,
      'max_lifetime=86400',
      'uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b',
      `upnp_table_name=${TABLE}`,
      `upnp_nat_table_name=${TABLE}`,
      'upnp_forward_chain=miniupnpd',
      'upnp_nat_chain=prerouting_miniupnpd',
      'upnp_nat_postrouting_chain=postrouting_miniupnpd',
      `allow 1024-65535 ${options.subnet} 1024-65535`,
      'deny 0-65535 0.0.0.0/0 0-65535',
      '',
    ].join('\n'),
  );
  let log = '';
  const proc: ChildProcess = router.spawn(MINIUPNPD, ['-d', '-f', config, '-P', join(dir, 'pid')]);
  proc.stdout?.on('data', (d) => (log += d));
  proc.stderr?.on('data', (d) => (log += d));
  await waitFor(
    'miniupnpd to listen',
    async () => {
      if (proc.exitCode !== null) throw new Error(`miniupnpd exited: ${log}`);
      const { stdout } = await router.exec('ss', ['-lnup']);
      return /:5351\b/.test(stdout) || (!options.natpmp && /:1900\b/.test(stdout));
    },
    10_000,
    50,
  ).catch((error) => {
    // Nobody gets a `stop` for it: leave no process or temp dir behind.
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    externalIp: () => options.externalIp,
    leases: () => {
      try {
        return readFileSync(leaseFile, 'utf8')
          .split('\n')
          .filter((l) => l !== '');
      } catch {
        return [];
      }
    },
    redirects: async () =>
      (await router.exec('nft', ['list', 'chain', 'inet', TABLE, 'prerouting_miniupnpd'])).stdout,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The fake gateway's answers: NAT-PMP cut short, PCP with an unknown result code and one cut
 * short, SSDP pointing off the gateway and bytes that are no HTTP; and from the router's second
 * address (.3), answers that would map if they came from the gateway.
 */
const FAKE_GATEWAY = `
const dgram = require('node:dgram');
const [own, other] = process.argv.slice(1);
const stranger = dgram.createSocket('udp4');
stranger.bind(0, other);
function serve(port, answers) {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, from) => {
    for (const a of answers(m)) s.send(a, from.port, from.address);
    stranger.send(Buffer.from('0080000000000001cb007107', 'hex'), from.port, from.address);
  });
  s.bind(port, own);
}
serve(5351, (m) => m[0] === 2
  ? [Buffer.concat([Buffer.from([2, 0x80 | m[1], 0, 99]), Buffer.alloc(20)]), Buffer.alloc(20, 2)]
  : [Buffer.from('008000000000', 'hex')]);
serve(1900, () => [Buffer.from('HTTP/1.1 200 OK\\r\\nLOCATION: http://203.0.113.9/x\\r\\n\\r\\n'), Buffer.from([0xff, 0, 1])]);
`;

async function startFakeGateway(router: Netns, lan: string, subnet: string): Promise<PortmapRouter> {
  const prefix = subnet.split('.').slice(0, 3).join('.');
  await router.exec('ip', ['addr', 'add', `${prefix}.3/24`, 'dev', lan]);
  const proc = router.spawn(process.execPath, ['-e', FAKE_GATEWAY, `${prefix}.1`, `${prefix}.3`]);
  let log = '';
  proc.stderr?.on('data', (d) => (log += d));
  await waitFor(
    'the fake gateway to listen',
    async () => {
      if (proc.exitCode !== null) throw new Error(`the fake gateway exited: ${log}`);
      return /:5351\b/.test((await router.exec('ss', ['-lnup'])).stdout);
    },
    10_000,
    50,
  );
  return {
    externalIp: () => '',
    leases: () => [],
    redirects: async () => '',
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
