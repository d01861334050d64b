/**
 * HuJSON ("human JSON", the format of Tailscale's policy files): JSON plus `//` and `/* *\/`
 * comments and trailing commas in arrays and objects. Everything else is strict JSON, so a
 * typo is reported where it is rather than guessed around.
 *
 * Differences from JSON.parse beyond those two: a duplicate key in an object is an error (in a
 * policy, the second "acls" silently replacing the first would hide rules), a leading byte order
 * mark is skipped (editors add one), and nesting is limited to MAX_DEPTH so that hostile input
 * cannot exhaust the stack.
 */

export class HujsonError extends Error {
  readonly source: string;
  /** 1-based, counting UTF-16 code units (a tab counts as one column). */
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(source: string, line: number, column: number, reason: string) {
    super(`${source}:${line}:${column}: ${reason}`);
    this.name = 'HujsonError';
    this.source = source;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

export const MAX_DEPTH = 200;

/** Parses HuJSON text; throws HujsonError (and nothing else) naming `source`, line and column. */
export function parseHujson(text: string, source = 'policy.hujson'): unknown {
  const parser = new Parser(text, source);
  if (text.charCodeAt(0) === 0xfeff) parser.pos = 1;
  parser.skipSpace();
  const value = parser.value(0);
  parser.skipSpace();
  if (parser.pos < text.length) parser.fail('unexpected');
  return value;
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

// The JSON number grammar, matched at the current position (sticky).
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

class Parser {
  pos = 0;

  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  /** Throws at `at`: "unexpected" gets the character there appended (or "end of input"). */
  fail(reason: string, at = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at; i++) {
      if (this.text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    if (reason === 'unexpected') {
      reason =
        at >= this.text.length
          ? 'unexpected end of input'
          : `unexpected ${JSON.stringify(String.fromCodePoint(this.text.codePointAt(at)!))}`;
    }
    throw new HujsonError(this.source, line, at - lineStart + 1, reason);
  }

  /** Skips whitespace and comments. */
  skipSpace(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        this.pos++;
      } else if (c === 0x2f && text.charCodeAt(this.pos + 1) === 0x2f) {
        const end = text.indexOf('\n', this.pos + 2);
        this.pos = end === -1 ? text.length : end + 1;
      } else if (c === 0x2f && text.charCodeAt(this.pos + 1) === 0x2a) {
        const end = text.indexOf('*/', this.pos + 2);
        if (end === -1) this.fail('unterminated /* comment');
        this.pos = end + 2;
      } else {
        return;
      }
    }
  }

  value(depth: number): unknown {
    const c = this.text[this.pos];
    if (c === '{' || c === '[') {
      if (depth >= MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
      return c === '{' ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.fail('unexpected');
  }

  private object(depth: number): Record<string, unknown> {
    this.pos++; // {
    // Entries are collected first: assigning a "__proto__" key to a plain object would set its
    // prototype instead of adding the key, whereas fromEntries always defines an own property.
    const entries: [string, unknown][] = [];
    const seen = new Set<string>();
    this.skipSpace();
    while (this.text[this.pos] !== '}') {
      if (this.text[this.pos] !== '"') this.fail('unexpected');
      const keyAt = this.pos;
      const key = this.string();
      if (seen.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
      seen.add(key);
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail('unexpected');
      this.pos++;
      this.skipSpace();
      entries.push([key, this.value(depth)]);
      if (!this.separator('}')) break;
    }
    this.expect('}');
    return Object.fromEntries(entries);
  }

  private array(depth: number): unknown[] {
    this.pos++; // [
    const items: unknown[] = [];
    this.skipSpace();
    while (this.text[this.pos] !== ']') {
      items.push(this.value(depth));
      if (!this.separator(']')) break;
    }
    this.expect(']');
    return items;
  }

  /**
   * After a member: consumes a comma (and the space after it) and says whether another member
   * may follow. A comma directly before `close` is the trailing comma HuJSON allows.
   */
  private separator(close: string): boolean {
    this.skipSpace();
    if (this.text[this.pos] !== ',') return false;
    this.pos++;
    this.skipSpace();
    return this.text[this.pos] !== close;
  }

  private expect(close: string): void {
    if (this.text[this.pos] !== close) this.fail('unexpected');
    this.pos++;
  }

  private string(): string {
    const text = this.text;
    this.pos++; // opening quote
    let out = '';
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= text.length) this.fail('unterminated string');
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in string (escape it)');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += text.slice(runStart, this.pos);
      const e = text[this.pos + 1];
      if (e === 'u') {
        const hex = text.slice(this.pos + 2, this.pos + 6);
        if (!HEX4.test(hex)) this.fail('invalid \\u escape');
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.pos += 6;
      } else {
        const decoded = e === undefined ? undefined : ESCAPES[e];
        if (decoded === undefined) this.fail('invalid escape');
        out += decoded;
        this.pos += 2;
      }
      runStart = this.pos;
    }
    out += text.slice(runStart, this.pos);
    this.pos++; // closing quote
    return out;
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) return this.fail('invalid number');
    const end = this.pos + match[0].length;
    // "01" or "1.": the grammar stops early; a digit or dot right after is a malformed number.
    const next = this.text[end];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) this.fail('invalid number');
    this.pos = end;
    return Number(match[0]);
  }
}

const LITERALS: [string, unknown][] = [
  ['true', true],
  ['false', false],
  ['null', null],
];
