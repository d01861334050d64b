import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { basename } from 'node:path';
import { randomBytes } from '../../src/crypto/index.js';
import { formatAddr } from '../../src/packet/ip-text.js';
import { masked } from '../../src/policy/prefix.js';
import { Device } from '../../src/wireguard/device.js';
import { type LinuxBind, openBind } from '../bind/linux-bind.js';
import { helperCrypto } from '../crypto/native-crypto.js';
import { openSystemDns, restoreStaleDns, wgQuickDns } from '../dns/system-dns.js';
import { fastPathEnabled, NativeFastEngine } from '../fastpath/engine.js';
import { NativeFastPath } from '../fastpath/native-fast-path.js';
import { runIp } from '../routing/ip-command.js';
import { LinuxRouting, removeStaleRouting } from '../routing/linux-routing.js';
import { interfaceDeleted, openTun } from '../tun/linux-tun.js';
import { applySet } from '../uapi/apply.js';
import { EADDRINUSE, EIO, errnoOf } from '../uapi/errno.js';
import { formatGet, type UapiSetRequest } from '../uapi/protocol.js';
import { startUapiServer, type UapiServer, uapiSocketPath } from '../uapi/server.js';
import { readState } from '../uapi/state.js';
import { readWgConfigFile } from '../wgconfig/read-file.js';
import { runningConfig, saveWgConfig } from '../wgconfig/save.js';
import type { WgConfig, WgEndpoint } from '../wgconfig/types.js';
import { monotonic, protocolLimits, wallTime } from './clock.js';
import { Datapath } from './datapath.js';
import type { BurrowdFlags } from './flags.js';
import type { Log } from './log.js';
import { signalReady } from './ready.js';
import { bypassMarkFor, routingLayout, socketMarkFor } from './table.js';
import { runDownHooks, runHooks } from './wg-quick-hooks.js';

const DEFAULT_MTU = 1420;

/** The interface name for a config file: its base name without ".conf", as wg-quick does. */
export function interfaceNameFor(path: string): string {
  return basename(path).replace(/\.conf$/, '');
}

async function resolveEndpoint(endpoint: WgEndpoint): Promise<{ host: string; port: number }> {
  const { address } = await lookup(endpoint.host);
  return { host: address, port: endpoint.port };
}

/** Whether this namespace has an interface called `name`. */
function linkExists(name: string): Promise<boolean> {
  return runIp(['link', 'show', 'dev', name]).then(
    () => true,
    () => false,
  );
}

/** Every peer prefix, as CIDR text: what table 52 must route to the interface. */
function peerPrefixes(device: Device): string[] {
  const out: string[] = [];
  for (const peer of device.peers()) {
    for (const { addr, cidr } of device.allowedIps.entriesOf(peer)) out.push(`${formatAddr(addr)}/${cidr}`);
  }
  return out;
}

/** Every prefix a set request names for a peer, as CIDR text with the host bits cleared, as the Device keeps it. */
function requestPrefixes(request: UapiSetRequest): string[] {
  const out: string[] = [];
  for (const peer of request.peers) {
    for (const op of peer.ops) {
      if (op.key === 'allowed_ip')
        out.push(`${formatAddr(masked(op.value.addr, op.value.cidr))}/${op.value.cidr}`);
    }
  }
  return out;
}

/** What a bare interface starts with, as wireguard-go: no key, no port chosen, no address, no peer. */
const BARE: WgConfig = { interface: { privateKey: new Uint8Array(32), addresses: [], dns: [] }, peers: [] };

/**
 * Standalone WireGuard mode: one interface from a wg-quick style file, in the foreground, until
 * SIGINT or SIGTERM, or the interface is deleted. Resolves when it has been torn down again.
 * The file's wg-quick keys are applied in wg-quick's order: PreUp; the interface with its addresses,
 * MTU and routes (Table, FwMark); DNS; PostUp; then ready. On the way down: PreDown, SaveConfig,
 * everything removed (DNS first), PostDown.
 *
 * Without a file (`--interface NAME` alone) it is a bare interface, as `wireguard-go NAME` makes:
 * configured through its UAPI socket by `wg`, and routed by whoever made it (wg-quick adds the
 * addresses, routes, its fwmark rules and table itself). So burrowd adds no route, no rule and no
 * table 52 of its own then, and marks its UDP packets only with the fwmark `wg` sets.
 */
export async function runStandalone(flags: BurrowdFlags, log: Log): Promise<void> {
  const path = flags.wgConfig;
  const bare = path === undefined;
  const file = bare ? null : await readWgConfigFile(path);
  const config = file?.config ?? BARE;
  const hooks = config.interface;
  const name = flags.interface ?? interfaceNameFor(path ?? '');
  // wg-quick's Table; a bare interface has no routing of its own, as wireguard-go's.
  const layout = bare ? null : routingLayout(config.interface.table, config.interface.fwMark ?? 0);
  const socketMark = (fwmark: number) => socketMarkFor(layout, fwmark);
  const mtu = config.interface.mtu ?? DEFAULT_MTU;
  const limits = protocolLimits();
  const crypto = helperCrypto((why) => log.info(`native AEAD unavailable (${why}); using node:crypto`));
  const device = new Device({
    crypto,
    privateKey: config.interface.privateKey,
    random: randomBytes,
    limits,
    mtu,
    wallTime,
  });
  for (const p of config.peers) {
    const peer = device.addPeer({
      publicKey: p.publicKey,
      presharedKey: p.presharedKey ?? null,
      endpoint: p.endpoint ? await resolveEndpoint(p.endpoint) : null,
      persistentKeepalive: p.persistentKeepalive ?? 0,
    });
    for (const c of p.allowedIps) device.allowedIps.insert(c.addr, c.cidr, peer);
  }

  const teardown: (() => Promise<void> | void)[] = [];
  // Set once it is up: only an interface that came up goes down through PreDown and PostDown (a
  // failed start is undone without them, as wg-quick does).
  let up = false;
  const cleanUp = async () => {
    for (const step of teardown.reverse()) {
      try {
        await step();
      } catch (error) {
        log.error(`teardown: ${(error as Error).message}`);
      }
    }
  };
  // Heard from the start: a signal while it comes up (a slow PostUp) tears it down once it is up,
  // rather than killing burrowd half way and leaving its rules and DNS behind.
  const signalled = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal}: tearing down ${name}`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  try {
    const stale = layout?.rules ? removeStaleRouting(runIp, layout.rules) : null;
    const [, , exists] = await Promise.all([
      stale,
      bare || restoreStaleDns((m) => log.info(m)),
      linkExists(name),
    ]);
    await runHooks('PreUp', hooks.preUp ?? [], name, log);
    // The TUN is made under a temporary name and renamed once its addresses, routes and rules are
    // in place: a script that waits for the interface and uses it at once finds it ready. A
    // persistent TUN of that name (`ip tuntap add`) is attached to as it is. A bare interface has
    // nothing to wait for: wireguard-go's callers wait for its UAPI socket.
    const made = exists || bare ? name : `bwup${nodeRandomBytes(4).toString('hex')}`;
    const routing = layout && new LinuxRouting(made, runIp, (message) => log.info(message), layout);
    const fast = fastPathEnabled();
    const tun = openTun(made, { vnet: fast });
    teardown.push(() => tun.close());
    // `ip link del` makes the TUN read fail (interfaceDeleted): the interface is gone, and like
    // wireguard-go burrowd removes what it added and exits 0. Any other read error is a failure.
    const tunFailed = new Promise<void>((resolve, reject) =>
      tun.onError((error) => {
        if (!interfaceDeleted(error)) return reject(error);
        log.info(`${name} was deleted: tearing down`);
        resolve();
      }),
    );
    tunFailed.catch(() => undefined); // handled by the race below, which may begin later
    let bind: LinuxBind = await openBind(config.interface.listenPort ?? 0, {
      fwmark: socketMark(config.interface.fwMark ?? 0),
    });
    teardown.push(() => bind.close());
    // Before any handshake: sessions are installed in the fast path as they are made.
    let engine: NativeFastEngine | null = null;
    if (fast) {
      const fastPath = new NativeFastPath({ limits, mtu, roaming: true, dualStack: bind.dualStack });
      device.attachFastPath(fastPath);
      engine = new NativeFastEngine(fastPath, tun);
    }
    if (routing) {
      teardown.push(() => routing.down());
      const addresses = config.interface.addresses.map((a) => a.text);
      await routing.up({ name: made, mtu, addresses }, peerPrefixes(device));
    } else {
      // As wireguard-go: the MTU the protocol core assumes; the link stays down until its owner sets it up.
      await runIp(['link', 'set', 'dev', made, 'mtu', String(mtu)]);
    }
    const datapath = new Datapath(device, tun, bind, monotonic, null, engine);
    teardown.push(() => datapath.stop());
    // What carried the traffic, for whoever reads the log after a run.
    teardown.push(() => {
      const f = engine?.fastPath.stats();
      const u = bind.stats();
      const t = tun.stats();
      log.info(
        `${name} down: tun read ${t.packetsRead} written ${t.packetsWritten} (dropped ${t.writeDropped}, errors ${t.writeErrors}); ` +
          `udp received ${u.packetsReceived} sent ${u.packetsSent} (dropped ${u.sendDropped}, errors ${u.sendErrors})` +
          (f ? `; fast path: ${JSON.stringify(f)}` : ''),
      );
    });
    datapath.start();
    const now = monotonic();
    for (const peer of device.peers()) {
      if (peer.timers.persistentKeepaliveInterval > 0) datapath.apply(device.keepalive(peer, now));
    }
    // Now it carries traffic: it may show up under its name.
    if (routing && made !== name) await routing.rename(name);
    // wg-quick's DNS, as it applies it: only with a name server, for every name.
    const dns = wgQuickDns(config.interface.dns);
    if (dns.nameservers.length > 0) {
      const systemDns = await openSystemDns({
        iface: name,
        stateDir: flags.stateDir,
        log: (m) => log.info(m),
      });
      teardown.push(() => systemDns.restore());
      await systemDns.set(dns);
    }

    let fwmark = config.interface.fwMark ?? 0;
    const uapi: UapiServer = await startUapiServer(uapiSocketPath(name), {
      get: () =>
        formatGet(readState(device, { privateKey: device.privateKey, listenPort: bind.port, fwmark })),
      set: async (request) => {
        // A new port means a new socket. It is opened before anything is applied, so that a port in
        // use fails the whole request and changes nothing. A new mark on the same port is set on the
        // socket itself (which holds the port), and set back if the request fails.
        let port = bind.port;
        let mark = fwmark;
        for (const op of request.device) {
          if (op.key === 'listen_port') port = op.value;
          if (op.key === 'fwmark') mark = op.value;
        }
        let replacement: LinuxBind | undefined;
        let remarked = false;
        if (port !== bind.port) {
          try {
            replacement = await openBind(port, { fwmark: socketMark(mark) });
          } catch (error) {
            return { errno: errnoOf(error, EADDRINUSE), message: `listen_port: ${(error as Error).message}` };
          }
        } else if (mark !== fwmark) {
          try {
            bind.setMark(socketMark(mark));
            remarked = true;
          } catch (error) {
            return { errno: errnoOf(error, EIO), message: `fwmark: ${(error as Error).message}` };
          }
        }
        // Burrow's bypass rules follow the socket's mark, or its packets would meet the tunnel's routes.
        try {
          await routing?.setBypassMark(bypassMarkFor(mark));
        } catch (error) {
          replacement?.close();
          if (remarked) bind.setMark(socketMark(fwmark));
          return { errno: EIO, message: `fwmark rules: ${(error as Error).message}` };
        }
        const undo = async () => {
          replacement?.close();
          if (remarked) bind.setMark(socketMark(fwmark));
          await routing
            ?.setBypassMark(bypassMarkFor(fwmark))
            .catch((error: Error) => log.error(`${name}: ${error.message}`));
        };
        // Routes for every prefix the request names are added before anything is applied: they are
        // the part that can fail (IPv6 disabled on the interface, ...), and a set changes all or
        // nothing. Once the request is applied, setRoutes only removes what is no longer wanted.
        try {
          await routing?.addRoutes(requestPrefixes(request));
        } catch (error) {
          await undo();
          log.error(`${name}: wg set refused, nothing changed: ${(error as Error).message}`);
          return { errno: EIO, message: `routes: ${(error as Error).message}` };
        }
        const result = applySet(device, request, monotonic(), {
          setListenPort: () => undefined,
          setFwmark: () => undefined,
          privateKeyChanged: () => undefined,
        });
        if (!('actions' in result)) await undo();
        else if (remarked) fwmark = mark;
        else if (replacement) {
          const old = bind;
          bind = replacement;
          fwmark = mark;
          datapath.replaceBind(bind);
          old.close();
        }
        try {
          await routing?.setRoutes(peerPrefixes(device));
        } catch (error) {
          // Only deletions are left to it, which do not fail; the request is applied either way.
          log.error(`${name}: routes: ${(error as Error).message}`);
        }
        if ('actions' in result) datapath.apply(result.actions);
        return result;
      },
    });
    teardown.push(() => uapi.close());
    await runHooks('PostUp', hooks.postUp ?? [], name, log);
    log.info(
      `${name} up: port ${bind.port}, ${config.peers.length} peer(s), crypto ${crypto.name}, fast path ${fast ? 'on' : 'off'}`,
    );
    // Addresses, routes, rules, datapath and UAPI are all in place: whoever waits may use it now.
    signalReady(log);
    up = true;

    await Promise.race([signalled, tunFailed]);
    await runDownHooks('PreDown', hooks.preDown ?? [], name, log);
    if (file && config.interface.saveConfig) {
      // As wg-quick down: after PreDown, before anything is removed; a failure does not stop the teardown.
      const state = readState(device, { privateKey: device.privateKey, listenPort: bind.port, fwmark });
      await saveWgConfig(file.path, runningConfig(state, config.interface), file).then(
        () => log.info(`${name}: saved the running config to ${file.path}`),
        (error: Error) => log.error(`SaveConfig: cannot write ${file.path}: ${error.message}`),
      );
    }
  } finally {
    await cleanUp();
  }
  if (up) await runDownHooks('PostDown', hooks.postDown ?? [], name, log);
}
