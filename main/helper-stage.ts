/**
 * The copy of the packaged helper that root installs from. The app's resources may sit where root
 * cannot read them (an AppImage runs from the user's FUSE mount, which only that user may enter),
 * so before asking for the password the app copies, as the user, the helper, its install scripts
 * and the unit into a fresh private directory, hashing each file as it goes. The install script,
 * run from that copy, checks the files again on its side against those hashes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What the install reads, as the packaged app lays it out (electron-builder.yml's extraResources). */
const REQUIRED = [
  'helper/burrowd',
  'scripts/install-helper.sh',
  'scripts/uninstall-helper.sh',
  'systemd/burrowd.service',
];
/** The helper's files: the electron-builder filter of extraResources. */
const HELPER_FILE = /^(burrowd|burrow|burrowd-wg|[A-Za-z0-9_.+-]+\.node)$/;
const EXECUTABLE = /^(helper\/burrowd|helper\/burrow|helper\/burrowd-wg|scripts\/.*\.sh)$/;

export interface Stage {
  dir: string;
  /** The sha256 of each staged file the install reads, by file name (all but the script itself). */
  hashes: Map<string, string>;
  remove(): Promise<void>;
}

/** Copies `from` to `to` (a new file), returning the sha256 of the bytes written. */
async function copyHashed(from: string, to: string, mode: number): Promise<string> {
  const hash = createHash('sha256');
  const tee = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(createReadStream(from), tee, createWriteStream(to, { flags: 'wx', mode }));
  await chmod(to, mode); // whatever the umask took away
  return hash.digest('hex');
}

/**
 * Stages the helper from the app's resources directory into a new directory under `parent`
 * (mkdtemp: mode 0700, the user's own). Rejects, leaving nothing behind, when a file is missing.
 */
export async function stageHelper(resources: string, parent: string): Promise<Stage> {
  const dir = await mkdtemp(join(parent, 'burrow-helper-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const helperFiles = (await readdir(join(resources, 'helper'))).filter((f) => HELPER_FILE.test(f));
    const files = [...new Set([...REQUIRED, ...helperFiles.map((f) => `helper/${f}`)])].sort();
    const hashes = new Map<string, string>();
    for (const sub of ['helper', 'scripts', 'systemd']) await mkdir(join(dir, sub), { mode: 0o755 });
    for (const file of files) {
      const sha256 = await copyHashed(
        join(resources, file),
        join(dir, file),
        EXECUTABLE.test(file) ? 0o755 : 0o644,
      );
      if (file !== 'scripts/install-helper.sh') hashes.set(file.split('/')[1]!, sha256);
    }
    return { dir, hashes, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
