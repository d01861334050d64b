import { describe, expect, it } from 'vitest';
import { parseArgs, parseDuration } from './args.js';
import { runCli } from './testing.js';

describe('burrow argument parsing', () => {
  it('takes values after a space or =, booleans alone or with =true/=false, operands anywhere', () => {
    const { args } = parseArgs(['--hostname', 'a', 'PEER', '--shields-up', '--accept-routes=false', '-c=3'], {
      '--hostname': 'string',
      '--shields-up': 'bool',
      '--accept-routes': 'bool',
      '-c': 'string',
    });
    expect(args.string('--hostname')).toBe('a');
    expect(args.bool('--shields-up')).toBe(true);
    expect(args.bool('--accept-routes')).toBe(false);
    expect(args.string('-c')).toBe('3');
    expect(args.positional).toEqual(['PEER']);
  });

  it('reads an empty value (--exit-node= clears the exit node) and operands after --', () => {
    const { args } = parseArgs(['--exit-node=', '--', '-x'], { '--exit-node': 'string' });
    expect(args.string('--exit-node')).toBe('');
    expect(args.positional).toEqual(['-x']);
  });

  it('reads Go-style durations', () => {
    expect(parseDuration('--timeout', '1m30s')).toBe(90_000);
    expect(parseDuration('--timeout', '500ms')).toBe(500);
    expect(() => parseDuration('--timeout', '0s')).toThrow('--timeout: must be longer than zero');
  });

  // A socket nobody listens on: each of these must fail before burrowd is asked (2, not 1).
  it.each([
    [[], 'no command given'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['share'], 'share: needs a subcommand'],
    [['share', 'burn'], 'share: unknown subcommand "burn"'],
    [['status', '--verbose'], 'unknown flag --verbose'],
    [['status', 'extra'], 'unexpected argument "extra"'],
    [['ping'], 'missing PEER'],
    [['ping', 'server', '-c'], '-c: needs a value'],
    [['ping', 'server', '-c', 'lots'], '-c: "lots" is not a count (1 to 1000)'],
    [['ip', '-4', '-6'], '-4 and -6: give one or neither'],
    [['set'], 'set: nothing to change'],
    [['set', '--shields-up=yes'], '--shields-up: "yes" is not true or false'],
    [['set', '--hostname=no spaces'], '--hostname: expected a host name'],
    [['set', '--advertise-routes=10.0.0.0/8,lan'], '--advertise-routes: expected an IP prefix, got "lan"'],
    [['up', '--login-server', 'ftp://x'], '--login-server: "ftp://x" is not an http(s) URL'],
    [
      ['up', '--login-server', 'https://a.example,htps//b.example'],
      '--login-server: "htps//b.example" is not a URL',
    ],
    [
      ['up', '--login-server', 'https://a.example,,https://b.example'],
      '--login-server: an empty URL in the list',
    ],
    [
      ['up', '--login-server', 'http://a:8080, http://a:8080'],
      '--login-server: "http://a:8080" is given twice',
    ],
    [
      ['up', '--login-server', 'https://me:pw@a.example'],
      '--login-server: "https://me:pw@a.example": a control URL holds no user name or password',
    ],
    [['up', '--hostname'], '--hostname: needs a value'],
    [['up', '--hostname', '--accept-routes'], '--hostname: needs a value'],
    [['up', '--timeout', '5'], '--timeout: "5" is not a duration'],
    [['share', 'create', 'laptop', '--multi-use', '--multi-use'], '--multi-use: given more than once'],
    [['--json', 'status', '--json'], '--json: given more than once'],
    [['share', 'decline', 'not an id'], 'ID: expected an id'],
  ])('%j is a usage error: %s', async (argv, message) => {
    const result = await runCli(['--socket', '/nonexistent/burrowd.sock', ...argv]);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.err).toContain(`burrow: ${message}`);
    expect(result.err).toMatch(/\nusage:/);
  });

  it("shows a command's usage with its error, and the whole list with help", async () => {
    const error = await runCli(['ping', '--count', '3']);
    expect(error.err).toBe('burrow: unknown flag --count\nusage: burrow ping PEER [-c N] [--json]\n');
    const help = await runCli(['help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('  share create DEVICE [--to USER] [--multi-use] [--json]\n');
    expect((await runCli(['ping', '--help'])).out).toBe('usage: burrow ping PEER [-c N] [--json]\n');
    expect(await runCli(['status', '--socket='])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^burrow: --socket: needs a path\n/),
    });
  });
});
