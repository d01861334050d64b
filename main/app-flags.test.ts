import { describe, expect, it } from 'vitest';
import { parseAppFlags } from './app-flags.js';

describe('the desktop app flags', () => {
  it('defaults to the system socket owned by root', () => {
    expect(parseAppFlags([])).toEqual({ socket: '/run/burrow/burrowd.sock', socketOwner: 0 });
  });

  it("reads ours between the app's path and Chromium's switches, and leaves those alone", () => {
    expect(
      parseAppFlags(['/src/burrow', '--no-sandbox', '--socket', '/tmp/b.sock', '--socket-owner=1000']),
    ).toEqual({ socket: '/tmp/b.sock', socketOwner: 1000 });
    expect(parseAppFlags(['--ozone-platform=wayland', '--socket=/tmp/c.sock']).socket).toBe('/tmp/c.sock');
  });

  it.each([
    [['--socket'], '--socket: needs a value'],
    [['--socket', '--no-sandbox'], '--socket: needs a value'],
    [['--socket='], '--socket: needs a path'],
    [['--socket-owner', 'alice'], '--socket-owner: "alice" is not a number from 0 to 4294967294'],
    [['--socket=/a', '--socket=/b'], '--socket: given more than once'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseAppFlags(argv)).toThrow(message);
  });
});
