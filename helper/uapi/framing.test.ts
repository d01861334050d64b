import { describe, expect, it } from 'vitest';
import { EINVAL, EMSGSIZE } from './errno.js';
import { UapiFramer } from './framing.js';
import { parseSet } from './protocol.js';

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));

describe('UapiFramer', () => {
  const stream = 'get=1\n\nset=1\nlisten_port=1\n\nget=1\n\nset=1\n\n';
  const expected = [
    { kind: 'get' },
    { kind: 'set', request: parseSet('set=1\nlisten_port=1\n\n') },
    { kind: 'get' },
    { kind: 'set', request: { device: [], peers: [] } },
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
    expect(framer.push(bytes('\n'))).toEqual([
      { kind: 'set', request: parseSet('set=1\nlisten_port=1\n\n') },
    ]);
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
  ];

  it.each(errors)('stops at %s', (_, text, error) => {
    const framer = new UapiFramer({ maxLineBytes: 64, maxSetLines: 8 });
    expect(framer.push(bytes(`get=1\n\n${text}`))).toEqual([{ kind: 'get' }, error]);
    expect(framer.push(bytes('get=1\n\n'))).toEqual([]);
  });

  it('allows a line of exactly the limit', () => {
    const framer = new UapiFramer({ maxLineBytes: 13, maxSetLines: 8 });
    expect(framer.push(bytes('set=1\nlisten_port=1\n\n'))).toEqual([
      { kind: 'set', request: parseSet('set=1\nlisten_port=1\n\n') },
    ]);
  });

  it('answers a set of more lines than the limit, and reads on', () => {
    const framer = new UapiFramer({ maxLineBytes: 64, maxSetLines: 8 });
    expect(framer.push(bytes(`set=1\n${'listen_port=1\n'.repeat(9)}\nget=1\n\n`))).toEqual([
      { kind: 'set', request: { errno: EMSGSIZE, message: 'the request has more than 8 lines' } },
      { kind: 'get' },
    ]);
  });

  it('answers a set with a bad line once its empty line came, and reads on', () => {
    const framer = new UapiFramer();
    expect(framer.push(bytes('set=1\nlisten_port=x\nfwmark=1\n'))).toEqual([]);
    expect(framer.push(bytes('\nget=1\n\n'))).toEqual([
      { kind: 'set', request: parseSet('set=1\nlisten_port=x\n\n') },
      { kind: 'get' },
    ]);
  });

  it('streams a set of many megabytes, holding one line of text at a time', () => {
    const framer = new UapiFramer();
    const peer = `public_key=${'ab'.repeat(32)}\n`;
    const line = (i: number) => `allowed_ip=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32\n`;
    let frames = framer.push(bytes(`set=1\n${peer}`));
    // 200,000 allowed IPs (some 5.6 MB), in 64 KiB chunks as a socket delivers them.
    let chunk = '';
    for (let i = 0; i < 200_000; i++) {
      chunk += line(i);
      if (chunk.length >= 65536) {
        frames = frames.concat(framer.push(bytes(chunk)));
        chunk = '';
      }
    }
    frames = frames.concat(framer.push(bytes(`${chunk}\n`)));
    expect(frames).toHaveLength(1);
    const frame = frames[0]!;
    if (frame.kind !== 'set' || 'errno' in frame.request) throw new Error(JSON.stringify(frame));
    expect(frame.request.peers[0]!.ops).toHaveLength(200_000);
    expect(frame.request.peers[0]!.ops[199_999]).toEqual({
      key: 'allowed_ip',
      value: { addr: new Uint8Array([10, 3, 13, 63]), cidr: 32 },
    });
  });
});
