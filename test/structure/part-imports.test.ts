/**
 * The parts stay apart: helper/ (burrowd and the CLI), server/ (burrow-server), main/ (the desktop
 * app's main process) and renderer/ (its window) import only their own code and src/, the core
 * they share. Their tests may also import test/support, where test support that needs two parts
 * lives (a helper test against a real burrow-server, say); production code never imports tests'
 * code. src/ imports only src/ (its tests test/support too).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const PARTS = ['src', 'helper', 'server', 'main', 'renderer'];

/** Test code inside a part: test files, scripts tests start, and test-support modules. */
const isTestCode = (path: string) =>
  /\.test\.[jt]sx?$|\.child\.[jt]s$|\/testing\.[jt]s$/.test(path) || path.split('/').includes('test-support');

const sources = (dir: string): string[] =>
  readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(path);
    return /\.(c|m)?(t|j)sx?$/.test(entry.name) ? [path] : [];
  });

// Static imports and re-exports (`from '...'`), side-effect imports, dynamic import() and require().
const SPECIFIER =
  /\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Each relative import of `file` as a path from the repository's root. */
function importsOf(file: string, text: string): string[] {
  return [...text.matchAll(SPECIFIER)]
    .map((m) => (m[1] ?? m[2] ?? m[3])!)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => relative(REPO, resolve(REPO, dirname(file), spec)));
}

/** Why `file` (in `part`) may not import `target`, or undefined if it may. */
function crossing(part: string, file: string, target: string): string | undefined {
  const top = target.split('/')[0]!;
  if (top === part || top === 'src') {
    return isTestCode(target) && !isTestCode(file) ? 'production code imports test code' : undefined;
  }
  if (isTestCode(file) && target.startsWith('test/support/')) return undefined;
  return `${part}/ imports ${top}/`;
}

describe('part boundaries', () => {
  it('tells own code, src/ and test support from another part', () => {
    expect(crossing('helper', 'helper/cli/main.ts', 'src/localapi/api.ts')).toBeUndefined();
    expect(crossing('helper', 'helper/cli/main.test.ts', 'test/support/netns.ts')).toBeUndefined();
    expect(crossing('helper', 'helper/cli/main.ts', 'test/support/netns.ts')).toBe('helper/ imports test/');
    expect(crossing('main', 'main/broker.ts', 'helper/localapi/client.ts')).toBe('main/ imports helper/');
    expect(crossing('server', 'server/x.test.ts', 'helper/relay/relay-client.ts')).toBe(
      'server/ imports helper/',
    );
    expect(crossing('server', 'server/serve.ts', 'server/store/testing.js')).toBe(
      'production code imports test code',
    );
    expect(
      importsOf('main/x.ts', "import {\n  a,\n} from '../helper/a.js';\nawait import('./b.js');"),
    ).toEqual(['helper/a.js', 'main/b.js']);
  });

  it.each(PARTS)('%s/ imports only what it may', (part) => {
    const crossings = sources(part).flatMap((file) =>
      importsOf(file, readFileSync(join(REPO, file), 'utf8')).flatMap((target) => {
        const why = crossing(part, file, target);
        return why ? [`${file} -> ${target} (${why})`] : [];
      }),
    );
    expect(crossings).toEqual([]);
  });
});
