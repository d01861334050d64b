/**
 * Whether the app can talk to burrowd, and if not, why (for the UI to explain and offer the
 * install). Also the trust check every connection to the LocalAPI passes first: burrowd runs as
 * root and creates its socket as root, so a socket owned by anyone else is another program posing
 * as burrowd (to read what the user does, or to feed the UI lies) and the app will not connect.
 */
import type { Stats } from 'node:fs';
import { access, lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HelperState } from '../src/ipc/schema.js';
import { LocalApiCallError, type LocalApiClient } from '../src/localapi/client.js';

export const DEFAULT_SOCKET = '/run/burrow/burrowd.sock';

/** What scripts/install-helper.sh leaves behind: any of them means burrowd is installed. */
export const INSTALLED_PATHS: readonly string[] = [
  '/etc/systemd/system/burrowd.service',
  '/usr/local/lib/burrow/burrowd',
];

export type SocketTrust =
  | { kind: 'trusted' }
  | { kind: 'missing'; detail: string }
  | { kind: 'untrusted'; detail: string };

const who = (uid: number) => (uid === 0 ? 'root' : `uid ${uid}`);

/**
 * Checks, without following links, that `socketPath` is a unix socket owned by `owner` in a
 * directory only `owner` or root can change (else the socket could be swapped after this check).
 */
export async function checkSocket(socketPath: string, owner: number): Promise<SocketTrust> {
  let info: Stats;
  let dir: Stats;
  try {
    info = await lstat(socketPath);
    dir = await lstat(dirname(socketPath));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      return { kind: 'missing', detail: `no LocalAPI at ${socketPath}` };
    return { kind: 'missing', detail: `cannot look at ${socketPath}: ${(error as Error).message}` };
  }
  const refuse = (why: string): SocketTrust => ({
    kind: 'untrusted',
    detail: `${socketPath} ${why}; the app will not talk to it (another program may be posing as burrowd)`,
  });
  if (!info.isSocket()) return refuse('is not a unix socket');
  if (info.uid !== owner) return refuse(`is owned by ${who(info.uid)}, not ${who(owner)}`);
  const sticky = (dir.mode & 0o1000) !== 0;
  if (!dir.isDirectory() || (dir.uid !== owner && dir.uid !== 0) || ((dir.mode & 0o022) !== 0 && !sticky))
    return refuse(`is in ${dirname(socketPath)}, which users other than ${who(owner)} can change`);
  return { kind: 'trusted' };
}

async function anyExists(paths: readonly string[]): Promise<boolean> {
  const found = await Promise.all(
    paths.map((p) =>
      access(p).then(
        () => true,
        () => false,
      ),
    ),
  );
  return found.includes(true);
}

export interface ProbeOptions {
  client: LocalApiClient;
  /** The uid that must own the socket: 0, except when developing against a burrowd run as yourself. */
  owner: number;
  installedPaths: readonly string[];
}

/** The helper's state in words for the user: asks burrowd for its status if the socket is trusted. */
export async function probeHelper({ client, owner, installedPaths }: ProbeOptions): Promise<HelperState> {
  const socket = client.socketPath;
  const answer = (state: HelperState['state'], detail: string): HelperState => ({
    state,
    socket,
    detail: detail.slice(0, 1024),
  });
  const notRunning = async () =>
    (await anyExists(installedPaths))
      ? answer(
          'not-running',
          `burrowd is installed but not running (nothing answers at ${socket}). Start it with: sudo systemctl start burrowd`,
        )
      : answer(
          'not-installed',
          'burrowd, the helper that runs the VPN, is not installed. Installing it asks for an administrator password.',
        );
  const trust = await checkSocket(socket, owner);
  if (trust.kind === 'untrusted') return answer('untrusted-socket', trust.detail);
  if (trust.kind === 'missing') return notRunning();
  try {
    const { version } = await client.call('status', {});
    return answer('running', `burrowd ${version} is running`);
  } catch (error) {
    if (error instanceof LocalApiCallError && error.status === 0) return notRunning();
    // It answered, even if with an error: it runs.
    return answer('running', `burrowd is running but answered: ${(error as Error).message}`);
  }
}
