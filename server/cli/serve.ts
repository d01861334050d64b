/** `burrow-server serve`: the coordination server (with its relay and STUN), from flags or a config file. */
import { loadConfig, type ServerConfig } from '../config.js';
import { startServer } from '../serve.js';
import { StoreError } from '../store/errors.js';
import { openStore } from '../store/open-store.js';
import type { Network } from '../store/types.js';
import { STUN_PORT } from '../stun/stun-server.js';
import { checkPolicy, type Io, readPolicyFile } from './admin.js';
import { parseArgs, parseListen, UsageError } from './args.js';
import { runLongCommand, untilStopped } from './long-command.js';
import { takeDb } from './take-db.js';

/**
 * Applies the config's policy files to their networks, all or none: every file is read, parsed
 * and its tests run before any policy changes, and the changes are then made in one transaction.
 * Throws naming the file and the failing case, having changed nothing.
 */
async function applyPolicyFiles(db: string, config: ServerConfig | null, io: Io): Promise<void> {
  if (!config?.policyFiles.length) return;
  const store = await openStore(db);
  try {
    const changed: { network: Network; file: string; text: string }[] = [];
    for (const { network: name, file } of config.policyFiles) {
      const network = await store.findNetworkByName(name);
      if (!network) throw new UsageError(`policyFiles: no network "${name}"`);
      const text = readPolicyFile(file);
      await checkPolicy(store, network.id, text, file);
      if ((await store.getPolicy(network.id))?.text !== text) changed.push({ network, file, text });
    }
    const now = Date.now();
    await store.transaction(async () => {
      for (const { network, text } of changed) await store.setPolicy(network.id, text, now);
    });
    for (const { network, file } of changed) io.err(`policy of network ${network.name} set from ${file}\n`);
  } finally {
    await store.close();
  }
}

/**
 * Gives the networks the config's dns.networks lists their settings from the file, all or none:
 * every one is checked (the network exists, and its settings pass against it) before any changes,
 * in one transaction. Networks not listed keep what `burrow-server dns` set.
 */
async function applyDnsConfig(db: string, config: ServerConfig | null, io: Io): Promise<void> {
  if (!config?.dns.networks.length) return;
  const store = await openStore(db);
  try {
    const now = Date.now();
    const changed = await store.transaction(async () => {
      const names: string[] = [];
      for (const [i, { network: name, settings }] of config.dns.networks.entries()) {
        const network = await store.findNetworkByName(name);
        if (!network) throw new UsageError(`dns.networks[${i}]: no network "${name}"`);
        const before = (await store.getDnsSettings(network.id)).updatedAt;
        let after: number | null;
        try {
          after = (await store.setDnsSettings(network.id, settings, now, config.dns.baseDomain)).updatedAt;
        } catch (error) {
          if (error instanceof StoreError) throw new UsageError(`dns.networks[${i}].${error.message}`);
          throw error;
        }
        if (after !== before) names.push(network.name);
      }
      return names;
    });
    for (const name of changed) io.err(`DNS settings of network ${name} set from the config file\n`);
  } finally {
    await store.close();
  }
}

const isHttpUrl = (text: string) => {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol) && /^https?:\/\/[^\s]+$/.test(text);
  } catch {
    return false;
  }
};

const isWildcard = (host: string) => host === '0.0.0.0' || /^[0:]+$/.test(host);

/**
 * The STUN port: --stun-port, else the config's stunPort, else 3478 (devices behind NAT need STUN
 * to go direct, so it is on unless turned off); 0 means none.
 */
function stunPortOf(flag: string | boolean | undefined, config: ServerConfig | null): number {
  if (typeof flag !== 'string') return config?.stunPort ?? STUN_PORT;
  if (!/^\d{1,5}$/.test(flag) || Number(flag) > 65535)
    throw new UsageError(`--stun-port: "${flag}" is not a port (0 for no STUN)`);
  return Number(flag);
}

/** `serve`: runs until SIGINT or SIGTERM; SIGHUP re-applies the config's policy files. */
export function serveCommand(argv: string[], io: Io, usage: string): Promise<number> {
  return runLongCommand(io, usage, async () => {
    const { db, config, configPath, rest } = takeDb(argv);
    const { flags, positional } = parseArgs(rest, {
      listen: 'string',
      'public-url': 'string',
      'stun-port': 'string',
    });
    const listen = typeof flags.listen === 'string' ? flags.listen : config?.listen;
    if (positional.length || listen === undefined)
      throw new UsageError(
        'usage: burrow-server serve (--db PATH | --config FILE) --listen HOST:PORT [--public-url URL] [--stun-port N]',
      );
    const { host, port } = parseListen(listen);
    const publicUrl = typeof flags['public-url'] === 'string' ? flags['public-url'] : config?.publicUrl;
    if (publicUrl !== undefined && !isHttpUrl(publicUrl))
      throw new UsageError(`--public-url: "${publicUrl}" is not an http(s) URL`);
    // Devices are sent this server's URL (for its relay and STUN) and browsers its sign-in links:
    // a wildcard address reaches nobody but this host, so it must be told what does.
    if (publicUrl === undefined && isWildcard(host))
      throw new UsageError(
        `--public-url URL is needed with --listen ${listen}: devices and browsers are sent this ` +
          'server as the URL they reach it at (e.g. --public-url http://203.0.113.7:8080)',
      );
    const stunPort = stunPortOf(flags['stun-port'], config);
    await applyPolicyFiles(db, config, io);
    await applyDnsConfig(db, config, io);
    const running = await startServer({
      db,
      ...(config?.keyFile !== undefined ? { keyPath: config.keyFile } : {}),
      host,
      port,
      ...(publicUrl !== undefined ? { publicUrl } : {}),
      relays: config?.relays ?? [],
      ...(config?.region ? { region: config.region } : {}),
      ...(config ? { relayLimits: config.relayLimits, controlLimits: config.controlLimits } : {}),
      ...(config?.trustedProxies ? { trustedProxies: config.trustedProxies } : {}),
      ...(stunPort !== 0 ? { stunPort } : {}),
      ...(config ? { baseDomain: config.dns.baseDomain } : {}),
      log: (m) => io.err(`${m}\n`),
    });
    io.err(
      `burrow-server listening on ${running.url} (control key ${running.publicKey}), ` +
        `relay region ${running.region.id} "${running.region.name}" (relay key ${running.relayPublicKey}), ` +
        `${running.stunPort === null ? 'no STUN' : `STUN on UDP port ${running.stunPort}`}\n`,
    );
    // One reload at a time: a second SIGHUP during one waits for it.
    let reloading: Promise<void> = Promise.resolve();
    const reloadOnce = async () => {
      try {
        await applyPolicyFiles(db, config, io);
      } catch (error) {
        io.err(
          `burrow-server: policy files not applied, the old policies stay: ${(error as Error).message}\n`,
        );
      }
      try {
        // The file's DNS settings are read again; the base domain stays as started (it names
        // every device: a restart changes it).
        const fresh = configPath !== undefined ? loadConfig(configPath) : null;
        if (fresh && config && fresh.dns.baseDomain !== config.dns.baseDomain)
          io.err('burrow-server: dns.baseDomain changed: it takes effect when burrow-server restarts\n');
        await applyDnsConfig(
          db,
          fresh && config ? { ...fresh, dns: { ...fresh.dns, baseDomain: config.dns.baseDomain } } : null,
          io,
        );
      } catch (error) {
        io.err(`burrow-server: DNS settings not applied, the old ones stay: ${(error as Error).message}\n`);
      }
    };
    const reload = () => {
      reloading = reloading.then(reloadOnce);
    };
    process.on('SIGHUP', reload);
    await untilStopped();
    process.off('SIGHUP', reload);
    await reloading;
    await running.close();
  });
}
