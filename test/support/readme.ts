/**
 * The shell commands the README documents, read from README.md itself, so that a test of them
 * runs what a reader copies (and fails when the README changes into something that does not work).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const README = resolve(import.meta.dirname, '../../README.md');

/**
 * The `sh` code blocks of the README section whose heading starts with `heading` (up to the next
 * heading of the same or a higher level), each as its command lines: blank and comment-only lines
 * left out, backslash continuations joined. Throws if there is no such section.
 */
export function readmeCommands(heading: string): string[][] {
  const lines = readFileSync(README, 'utf8').split('\n');
  const start = lines.findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, '').startsWith(heading));
  if (start < 0) throw new Error(`README.md has no section "${heading}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  const blocks: string[][] = [];
  let fenced = false;
  let block: string[] | null = null; // inside an sh block
  for (const line of lines.slice(start + 1)) {
    const h = /^(#+) /.exec(line);
    if (!fenced && h && h[1]!.length <= level) break;
    if (line.startsWith('```')) {
      if (fenced && block !== null) blocks.push(block);
      block = !fenced && line === '```sh' ? [] : null;
      fenced = !fenced;
      continue;
    }
    if (block === null || line.trim() === '' || line.trim().startsWith('#')) continue;
    const previous = block.at(-1);
    if (previous?.endsWith('\\')) block[block.length - 1] = `${previous.slice(0, -1)} ${line.trim()}`;
    else block.push(line);
  }
  return blocks;
}

/** The comment at the end of a command line ("" if none): the README says there what a line does. */
export function commentOf(line: string): string {
  return /\s#\s*(.*)$/.exec(line)?.[1] ?? '';
}
