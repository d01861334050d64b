/**
 * Reads a wg-quick file for `burrowd --wg-config`, and refuses one whose hooks anyone but root could
 * have written: burrowd runs PreUp, PostUp, PreDown and PostDown as root, so a file another user
 * can change would hand them root. The owner and mode checked are those of the open file the text
 * is read from (fstat on the same descriptor), so that nothing can swap the file between the check
 * and the read.
 */
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { parseWgConfig } from './parse.js';
import { type WgConfig, WgConfigError } from './types.js';

export interface WgConfigFile {
  /** The file's real path (symlinks resolved, as wg-quick's readlink -f): where SaveConfig writes. */
  path: string;
  config: WgConfig;
  /** Who owns it, for SaveConfig to keep. */
  uid: number;
  gid: number;
}

/** The hooks a config has, by key, in the order wg-quick runs them. */
export function hookKeys(config: WgConfig): string[] {
  const { preUp, postUp, preDown, postDown } = config.interface;
  const keys: [string, string[] | undefined][] = [
    ['PreUp', preUp],
    ['PostUp', postUp],
    ['PreDown', preDown],
    ['PostDown', postDown],
  ];
  return keys.filter(([, commands]) => commands?.length).map(([key]) => key);
}

/** Why a file owned by `uid` with `mode` may not carry hooks, or null if it may. */
export function hookFileProblem(uid: number, mode: number): string | null {
  if (uid === 0 && (mode & 0o022) === 0) return null;
  const octal = (mode & 0o7777).toString(8).padStart(4, '0');
  return (
    `it is owned by uid ${uid} with mode ${octal}, and hooks run as root only from a file owned by root ` +
    'and writable by no one else (chown root FILE; chmod go-w FILE)'
  );
}

export async function readWgConfigFile(path: string): Promise<WgConfigFile> {
  const fail = (reason: string) => new WgConfigError(path, null, null, reason);
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    throw fail((error as Error).message);
  }
  const handle = await open(real, constants.O_RDONLY | constants.O_NOCTTY).catch((error: Error) => {
    throw fail(error.message);
  });
  let text: string;
  let stat: Awaited<ReturnType<typeof handle.stat>>;
  try {
    stat = await handle.stat();
    if (!stat.isFile()) throw fail('not a regular file');
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  const config = parseWgConfig(text, path);
  const hooks = hookKeys(config);
  const problem = hookFileProblem(stat.uid, stat.mode);
  if (hooks.length > 0 && problem !== null) {
    throw fail(`refused: it has ${hooks.join(', ')} (commands burrowd runs as root), but ${problem}`);
  }
  return { path: real, config, uid: stat.uid, gid: stat.gid };
}
