/** What every `burrow` command is given, and what it may say. */
import type { LocalApiClient } from '../../src/localapi/client.js';
import type { Args, FlagSpec } from './args.js';

/** Where a command writes: stdout carries only results (so scripts can capture them), stderr the rest. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface Context {
  io: Io;
  /** Made on first use: `version` must work without burrowd, and usage errors must not need it. */
  client(): LocalApiClient;
  /** Machine-readable output: the LocalAPI's answer, or a small object for commands that print text. */
  json: boolean;
}

export interface Command {
  /** The synopsis after `burrow `, shown with usage errors; a long one is split by newlines. */
  usage: string;
  flags: FlagSpec;
  /** Operand names; a trailing `?` marks an optional one. */
  operands: readonly string[];
  run(ctx: Context, args: Args): Promise<number>;
}

/** A failure the user should see in words (exit code 1); burrowd's refusals are LocalApiCallErrors. */
export class CliError extends Error {}

export function printJson(ctx: Context, value: unknown): void {
  ctx.io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell, two spaces apart, as `tailscale status` and `wg` print them. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}
