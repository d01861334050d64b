/**
 * wg-quick's hooks, run as wg-quick runs them: each command by bash with "%i" replaced by the
 * interface name, under wg-quick's own `set -e -o pipefail` (its hooks are `eval`ed in a subshell
 * of a script that sets both), one after the other, stopping at the first that fails. When: PreUp
 * before the interface exists, PostUp once it is fully up (before burrowd says it is ready), PreDown
 * before anything is removed, PostDown after everything is. Their output goes to burrowd's log.
 */
import { spawn } from 'node:child_process';
import type { Log } from './log.js';
import { READY_FD } from './ready.js';

export type HookPhase = 'PreUp' | 'PostUp' | 'PreDown' | 'PostDown';

/** A hook that failed: its phase, its command (as run) and how it ended. */
export class HookError extends Error {
  constructor(
    readonly phase: HookPhase,
    readonly command: string,
    readonly status: string,
  ) {
    super(`${phase} hook failed (${status}): ${command}`);
  }
}

/** Runs `commands` in order; rejects with a HookError at the first that does not exit 0. */
export async function runHooks(phase: HookPhase, commands: string[], iface: string, log: Log): Promise<void> {
  for (const hook of commands) {
    const command = hook.replaceAll('%i', iface);
    log.info(`${phase}: [#] ${command}`);
    const status = await runOne(phase, command, log);
    if (status !== null) throw new HookError(phase, command, status);
  }
}

/** Runs the hooks of a phase on the way down: a failure is logged, and the teardown goes on. */
export async function runDownHooks(phase: HookPhase, commands: string[], iface: string, log: Log) {
  try {
    await runHooks(phase, commands, iface, log);
  } catch (error) {
    log.error(`${(error as Error).message}; going on with the teardown`);
  }
}

/** Null once the command exited 0, else how it ended. */
function runOne(phase: HookPhase, command: string, log: Log): Promise<string | null> {
  // A hook must not speak for burrowd to systemd or to a --daemon parent (ready.ts).
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  delete env[READY_FD];
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) log.info(`${phase}: ${line}`);
    });
    stream.on('end', () => {
      if (rest !== '') log.info(`${phase}: ${rest}`);
    });
  }
  return new Promise((resolve) => {
    child.once('error', (error) => resolve(`could not start bash: ${error.message}`));
    // 'exit', not 'close': a process the hook left in the background may keep its output open.
    child.once('exit', (code, signal) =>
      resolve(code === 0 ? null : signal ? `killed by ${signal}` : `exit status ${code}`),
    );
  });
}
