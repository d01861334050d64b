import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { decodeKey } from '../../src/wireguard/keys.js';
import { KeyFeedClient } from '../relay/key-feed-client.js';
import { startRelay } from '../relay/relay-server.js';
import type { Io } from './admin.js';
import { parseArgs, parseListen, UsageError } from './args.js';
import { runLongCommand, untilStopped } from './long-command.js';

/**
 * `relay`: a relay on its own, for another region (devices find it through the relay map of the
 * server's config: its URL and the public key this prints). It serves the devices its coordination
 * server registered, following that server's key feed; there is no open mode. Runs until SIGINT or
 * SIGTERM.
 */
export function relayCommand(argv: string[], io: Io, usage: string): Promise<number> {
  return runLongCommand(io, usage, async () => {
    const { flags, positional } = parseArgs(argv, {
      listen: 'string',
      key: 'string',
      'control-url': 'string',
      'control-key': 'string',
    });
    const { listen, key, 'control-url': controlUrl, 'control-key': controlKey } = flags;
    if (
      positional.length ||
      typeof listen !== 'string' ||
      typeof key !== 'string' ||
      typeof controlUrl !== 'string' ||
      typeof controlKey !== 'string'
    )
      throw new UsageError(
        'usage: burrow-server relay --listen HOST:PORT --key PATH --control-url URL --control-key KEY',
      );
    if (!/^https?:\/\/[^\s/]+\/?$/.test(controlUrl))
      throw new UsageError(`--control-url: "${controlUrl}" is not http(s)://HOST:PORT`);
    let serverPublicKey: Uint8Array;
    try {
      serverPublicKey = decodeKey(controlKey, '--control-key');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { host, port } = parseListen(listen);
    const crypto = selectCrypto();
    const running = await startRelay({
      host,
      port,
      keyPath: key,
      allowed: (relayKey) =>
        new KeyFeedClient({
          url: controlUrl,
          serverPublicKey,
          relayKey,
          crypto,
          random: randomBytes,
          now: Date.now,
          log: (m) => io.err(`${m}\n`),
        }),
    });
    io.err(`burrow-server relay on ${running.url} (relay key ${running.publicKey})\n`);
    await untilStopped();
    await running.close();
  });
}
