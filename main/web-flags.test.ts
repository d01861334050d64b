import { describe, expect, it } from 'vitest';
import { parseWebFlags } from './web-flags.js';

describe('npm run web flags', () => {
  it('defaults to the system socket, a random port and root as the owner', () => {
    expect(parseWebFlags([])).toEqual({
      socket: '/run/burrow/burrowd.sock',
      port: 0,
      socketOwner: 0,
      help: false,
    });
  });

  it('takes --flag value and --flag=value', () => {
    expect(parseWebFlags(['--socket', '/tmp/b.sock', '--port=8080', '--socket-owner', '1000'])).toEqual({
      socket: '/tmp/b.sock',
      port: 8080,
      socketOwner: 1000,
      help: false,
    });
  });

  it.each([
    [['--no-root-check'], 'unknown flag "--no-root-check"'],
    [['--port', '70000'], '--port: "70000" is not a number from 0 to 65535'],
    [['--socket-owner', 'alice'], '--socket-owner: "alice" is not a number from 0 to 4294967294'],
    [['--socket'], '--socket: needs a value'],
    [['--port', '1', '--port', '2'], '--port: given more than once'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseWebFlags(argv)).toThrow(message);
  });
});
