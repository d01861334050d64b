/** burrow-server's users commands: making users, and their passwords for the sign-in page. */
import { readFileSync } from 'node:fs';
import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { User } from '../store/types.js';
import { checkPassword } from '../store/validate.js';
import type { Io } from './admin.js';
import { CommandError, parseArgs, UsageError } from './args.js';

/**
 * A password from a file, never an argument: arguments show in `ps`. "-" and /dev/stdin read
 * standard input itself (opening /dev/stdin fails when it is a socket, as a parent's pipe may be).
 */
function readPasswordFile(path: string): string {
  try {
    return readFileSync(path === '-' || path === '/dev/stdin' ? 0 : path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new UsageError(`--password-file: ${(error as Error).message}`);
  }
}

/** Asks at the terminal for a new password, twice; checked before it is asked again. */
function askNewPassword(io: Io, name: string): string {
  if (!io.readSecret) throw new UsageError('no terminal to ask for a password on: give --password-file PATH');
  const password = checkPassword(io.readSecret(`New password for ${name}: `));
  if (io.readSecret('Again: ') !== password) throw new CommandError('the passwords differ; nothing changed');
  return password;
}

/** How a user signs in, told when the user is made or given a password. */
function signInHelp(user: User): string {
  const key = `devices join with an auth key (burrow-server authkeys create --user ${user.name})`;
  return user.hasPassword
    ? `${user.name} signs in with that password on the sign-in page \`burrow up\` without --auth-key links to, or ${key}\n`
    : `${user.name} has no password: ${key}; to sign in on the sign-in page \`burrow up\` without --auth-key links to, set one with burrow-server users passwd ${user.name}\n`;
}

export async function usersCreate(store: Store, argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, { network: 'string', 'password-file': 'string' });
  const [name, ...extra] = positional;
  if (!name || extra.length)
    throw new UsageError('usage: burrow-server users create NAME [--network NET] [--password-file PATH]');
  const password =
    typeof flags['password-file'] === 'string' ? readPasswordFile(flags['password-file']) : undefined;
  // Checked first: otherwise the personal network named after the user would be the name reported taken.
  if (await store.findUserByName(name))
    throw new StoreError('duplicate-name', `user "${name}" already exists`);
  const user = await store.transaction(async () => {
    let networkId: string | undefined;
    if (typeof flags.network === 'string') {
      const existing = await store.findNetworkByName(flags.network);
      networkId = existing?.id ?? (await store.createNetwork({ name: flags.network }, now)).id;
    }
    return store.createUser(
      { name, ...(networkId ? { networkId } : {}), ...(password !== undefined ? { password } : {}) },
      now,
    );
  });
  const network = await store.getNetwork(user.networkId);
  io.out(`${user.name}\n`);
  io.err(`created user ${user.name} (${user.id}) in network ${network.name}\n${signInHelp(user)}`);
}

/** `users passwd NAME`: sets or replaces the password for the sign-in page, asked at the terminal. */
export async function usersPasswd(store: Store, argv: string[], io: Io): Promise<void> {
  const { flags, positional } = parseArgs(argv, { 'password-file': 'string' });
  if (positional.length !== 1)
    throw new UsageError('usage: burrow-server users passwd NAME [--password-file PATH]');
  const name = positional[0]!;
  const user = await store.findUserByName(name);
  if (!user) throw new UsageError(`no user "${name}"`);
  const password =
    typeof flags['password-file'] === 'string'
      ? readPasswordFile(flags['password-file'])
      : askNewPassword(io, user.name);
  const updated = await store.setPassword(user.id, password);
  io.err(`password of ${user.name} ${user.hasPassword ? 'changed' : 'set'}\n${signInHelp(updated)}`);
}
