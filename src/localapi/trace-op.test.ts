import { describe, expect, it } from 'vitest';
import { SchemaError } from '../control/schema.js';
import { operations } from './api.js';

describe('LocalAPI trace operation', () => {
  it('is a read-only POST /trace, open to every local user', () => {
    expect(operations.trace).toMatchObject({ method: 'POST', path: '/trace', mutating: false });
  });

  it('takes a target, and a protocol and port, and refuses what is not one', () => {
    const { request } = operations.trace;
    expect(request.parse({ target: 'webcam', port: 80 })).toEqual({ target: 'webcam', port: 80 });
    expect(request.parse({ target: '100.64.0.2', proto: 'udp', port: 53 })).toMatchObject({ proto: 'udp' });
    expect(request.parse({ target: 'webcam', proto: 'icmp' })).toEqual({ target: 'webcam', proto: 'icmp' });
    for (const bad of [
      {},
      { target: '' },
      { target: 'webcam', port: 0 },
      { target: 'webcam', port: 65536 },
      { target: 'webcam', proto: 'gre' },
      { target: 'webcam', port: 80, verbose: true },
    ]) {
      expect(() => request.parse(bad)).toThrow(SchemaError);
    }
  });
});
