import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { HujsonError, parseHujson } from './hujson.js';

const CASES = 20_000;

/** A random JSON value, small enough to read in a failure message. */
function randomValue(rng: Rng, depth: number): unknown {
  const kind = rng.int(depth > 3 ? 4 : 6);
  if (kind === 0) return [null, true, false][rng.int(3)];
  if (kind === 1) return [0, -1, 3.25, 1e21, -2.5e-7, 123456789][rng.int(6)];
  if (kind === 2 || kind === 3) return ['', 'a', 'tag:db', 'é"\\\n\u0001', '😀/* x */', '// y'][rng.int(6)];
  if (kind === 4) return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
  return Object.fromEntries(
    Array.from({ length: rng.int(4) }, (_, i) => [`k${i}`, randomValue(rng, depth + 1)]),
  );
}

/** Inserts comments and trailing commas where HuJSON allows them, without changing the value. */
function humanize(rng: Rng, json: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += json[++i];
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if ((c === ']' || c === '}') && json[i - 1] !== '[' && json[i - 1] !== '{' && rng.chance(0.5)) out += ',';
    out += c;
    // Between tokens only: after a structural character (a comment inside "true" would split it).
    if ('{}[],:'.includes(c) && rng.chance(0.3)) out += ['/* c */', '// c\n', ' \n\t', '/**/'][rng.int(4)];
  }
  return out;
}

const ALPHABET = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '\\',
  '/',
  '*',
  ' ',
  '\n',
  'a',
  '1',
  '-',
  '.',
  'e',
  't',
  'u',
];

function mutate(rng: Rng, text: string): string {
  const chars = [...text];
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const at = rng.int(chars.length + 1);
    const op = rng.int(3);
    if (op === 0) chars.splice(at, 1);
    else if (op === 1) chars.splice(at, 0, ALPHABET[rng.int(ALPHABET.length)]!);
    else chars.splice(at, 0, ...chars.slice(rng.int(chars.length), rng.int(chars.length)));
  }
  return chars.join('');
}

/** parseHujson's answer, or the error it threw (which must be a HujsonError). */
function attempt(text: string): { value: unknown } | { error: HujsonError } {
  try {
    return { value: parseHujson(text) };
  } catch (e) {
    if (!(e instanceof HujsonError)) throw new Error(`${JSON.stringify(text)} threw ${String(e)}`);
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.column).toBeGreaterThanOrEqual(1);
    return { error: e };
  }
}

function jsonParse(text: string): { value: unknown } | { error: unknown } {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error };
  }
}

describe('parseHujson fuzzing', () => {
  it(`reads ${CASES} humanized documents as the JSON they came from`, () => {
    const rng = new Rng(2024);
    for (let i = 0; i < CASES; i++) {
      const json = JSON.stringify(randomValue(rng, 0), null, rng.chance(0.5) ? 2 : undefined);
      expect(parseHujson(humanize(rng, json))).toEqual(JSON.parse(json));
    }
  });

  it(`agrees with JSON.parse on ${CASES} mutated plain-JSON inputs, and only ever throws HujsonError`, () => {
    const rng = new Rng(7);
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const text = mutate(rng, JSON.stringify(randomValue(rng, 0)));
      const ours = attempt(text);
      // Comments and trailing commas are the only extensions: without them, JSON.parse is the
      // oracle, except for duplicate keys, which only HuJSON refuses.
      if (/\/[/*]|,\s*[\]}]/.test(text)) continue;
      const theirs = jsonParse(text);
      if ('value' in ours) {
        accepted++;
        expect(theirs, text).toEqual({ value: ours.value });
      } else if ('value' in theirs) {
        expect(ours.error.reason, text).toMatch(/^duplicate key/);
      }
    }
    expect(accepted).toBeGreaterThan(CASES / 20);
  });

  it(`only ever throws HujsonError on ${CASES} random and mutated humanized inputs`, () => {
    const rng = new Rng(99);
    for (let i = 0; i < CASES; i++) {
      const text = rng.chance(0.3)
        ? Array.from({ length: rng.int(30) }, () => ALPHABET[rng.int(ALPHABET.length)]).join('')
        : mutate(rng, humanize(rng, JSON.stringify(randomValue(rng, 0))));
      attempt(text);
    }
  });
});
