import { describe, expect, it } from 'vitest';
import { HujsonError, MAX_DEPTH, parseHujson } from './hujson.js';

function errorOf(text: string, source?: string): HujsonError {
  try {
    parseHujson(text, source);
  } catch (e) {
    if (e instanceof HujsonError) return e;
    throw e;
  }
  throw new Error(`parsed: ${text}`);
}

describe('parseHujson: JSON', () => {
  it.each([
    ['null', null],
    ['true', true],
    ['false', false],
    ['0', 0],
    ['-0.5e3', -500],
    ['1E+2', 100],
    ['"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00"', 'a"b\\c/d\b\f\n\r\té😀'],
    ['[]', []],
    ['{}', {}],
    [' [1, "two", {"three": [3]}] ', [1, 'two', { three: [3] }]],
  ])('%s', (text, value) => {
    expect(parseHujson(text)).toEqual(value);
  });

  it('keeps "__proto__" as an ordinary key', () => {
    const value = parseHujson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('skips a leading byte order mark', () => {
    expect(parseHujson('\uFEFF{"a": 1}')).toEqual({ a: 1 });
  });
});

describe('parseHujson: comments and trailing commas', () => {
  it('accepts a commented policy with trailing commas', () => {
    const text = `// Burrow policy
{
  /* groups */ "groups": {"group:eng": ["alice@example.com",],}, // trailing
  "acls": [
    {"action": "accept", "src": ["*"], "dst": ["*:*"]}, /* last */
  ],
}
// end`;
    expect(parseHujson(text)).toEqual({
      groups: { 'group:eng': ['alice@example.com'] },
      acls: [{ action: 'accept', src: ['*'], dst: ['*:*'] }],
    });
  });

  it('does not treat comment markers inside strings as comments', () => {
    expect(parseHujson('["http://x", "/* no */"]')).toEqual(['http://x', '/* no */']);
  });

  it('accepts a line comment that ends the input', () => {
    expect(parseHujson('1 // one')).toBe(1);
  });
});

describe('parseHujson: errors name the line and column', () => {
  it.each([
    ['{\n  "a": 1,\n  "b": 2\n  }}', 'policy.hujson:4:4: unexpected "}"'],
    ['[1,,2]', 'policy.hujson:1:4: unexpected ","'],
    ['[,]', 'policy.hujson:1:2: unexpected ","'],
    ['{,}', 'policy.hujson:1:2: unexpected ","'],
    ['{"a" 1}', 'policy.hujson:1:6: unexpected "1"'],
    ['{"a": 1 "b": 2}', 'policy.hujson:1:9: unexpected "\\""'],
    ['{a: 1}', 'policy.hujson:1:2: unexpected "a"'],
    ["['single']", 'policy.hujson:1:2: unexpected "\'"'],
    ['[1, 2', 'policy.hujson:1:6: unexpected end of input'],
    ['', 'policy.hujson:1:1: unexpected end of input'],
    ['01', 'policy.hujson:1:1: invalid number'],
    ['1.', 'policy.hujson:1:1: invalid number'],
    ['-', 'policy.hujson:1:1: invalid number'],
    ['.5', 'policy.hujson:1:1: unexpected "."'],
    ['+1', 'policy.hujson:1:1: unexpected "+"'],
    ['NaN', 'policy.hujson:1:1: unexpected "N"'],
    ['tru', 'policy.hujson:1:1: unexpected "t"'],
    ['truex', 'policy.hujson:1:5: unexpected "x"'],
    ['"abc', 'policy.hujson:1:5: unterminated string'],
    ['"a\nb"', 'policy.hujson:1:3: control character in string (escape it)'],
    ['"\\x"', 'policy.hujson:1:2: invalid escape'],
    ['"\\u12g4"', 'policy.hujson:1:2: invalid \\u escape'],
    ['/* open', 'policy.hujson:1:1: unterminated /* comment'],
    ['1 2', 'policy.hujson:1:3: unexpected "2"'],
    ['{"a": 1, "a": 2}', 'policy.hujson:1:10: duplicate key "a"'],
    ['\r\n\r\n  ]', 'policy.hujson:3:3: unexpected "]"'],
  ])('%j', (text, message) => {
    expect(errorOf(text).message).toBe(message);
  });

  it('names the source it was given, and exposes the position', () => {
    const e = errorOf('{\n\t"x": ?}', 'net-1/policy.hujson');
    expect(e.message).toBe('net-1/policy.hujson:2:7: unexpected "?"');
    expect([e.source, e.line, e.column, e.reason]).toEqual(['net-1/policy.hujson', 2, 7, 'unexpected "?"']);
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} levels instead of overflowing the stack`, () => {
    expect(parseHujson(`${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`)).toBeInstanceOf(Array);
    expect(errorOf('['.repeat(100_000)).reason).toBe(`nesting deeper than ${MAX_DEPTH} levels`);
  });
});
