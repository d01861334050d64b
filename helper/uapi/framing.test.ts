import { describe, expect, it } from 'vitest';
import { EINVAL, EMSGSIZE } from './errno.js';
import { UapiFramer } from './framing.js';

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));

describe('UapiFramer', () => {
  const stream = 'get=1\n\nset=1\nlisten_port=1\n\nget=1\n\nset=1\n\n';
  const expected = [
    { kind: 'get' },
    { kind: 'set', text: 'set=1\nlisten_port=1\n\n' },
    { kind: 'get' },
    { kind: 'set', text: 'set=1\n\n' },
  ];

  it('cuts several requests from one chunk', () => {
    expect(new UapiFramer().push(bytes(stream))).toEqual(expected);
  });

  it('cuts the same requests from a byte at a time', () => {
    const framer = new UapiFramer();
    const frames = [...bytes(stream)].flatMap((b) => framer.push(new Uint8Array([b])));
    expect(frames).toEqual(expected);
  });

  it('waits for the empty line of a set', () => {
    const framer = new UapiFramer();
    expect(framer.push(bytes('set=1\nlisten_port=1\n'))).toEqual([]);
    expect(framer.push(bytes('\n'))).toEqual([{ kind: 'set', text: 'set=1\nlisten_port=1\n\n' }]);
  });

  const errors: [string, string, unknown][] = [
    [
      'an unknown operation',
      'hello\n',
      { kind: 'error', op: null, errno: EINVAL, message: 'unknown operation "hello"' },
    ],
    [
      'get=1 without its empty line',
      'get=1\nx',
      { kind: 'error', op: 'get', errno: EINVAL, message: 'get=1 must be followed by an empty line' },
    ],
    [
      'a long line in a set',
      `set=1\nendpoint=${'1'.repeat(100)}`,
      { kind: 'error', op: 'set', errno: EMSGSIZE, message: 'a line is longer than 64 bytes' },
    ],
    [
      'a long first line',
      'g'.repeat(65),
      { kind: 'error', op: null, errno: EMSGSIZE, message: 'a line is longer than 64 bytes' },
    ],
    [
      'a long set',
      `set=1\n${'listen_port=1\n'.repeat(20)}`,
      { kind: 'error', op: 'set', errno: EMSGSIZE, message: 'the request is longer than 256 bytes' },
    ],
  ];

  it.each(errors)('stops at %s', (_, text, error) => {
    const framer = new UapiFramer({ maxLineBytes: 64, maxRequestBytes: 256 });
    expect(framer.push(bytes(`get=1\n\n${text}`))).toEqual([{ kind: 'get' }, error]);
    expect(framer.push(bytes('get=1\n\n'))).toEqual([]);
  });

  it('allows a request of exactly the limits', () => {
    const framer = new UapiFramer({ maxLineBytes: 16, maxRequestBytes: 6 + 17 + 1 });
    const text = `set=1\n${'x'.repeat(14)}=1\n\n`;
    expect(framer.push(bytes(text))).toEqual([{ kind: 'set', text }]);
  });
});
