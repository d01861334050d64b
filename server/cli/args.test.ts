import { describe, expect, it } from 'vitest';
import { parseArgs, parseDuration, parseListen, UsageError } from './args.js';

describe('burrow-server argument parsing', () => {
  const spec = { db: 'string', json: 'boolean', user: 'string' } as const;

  it('takes declared flags in both forms and keeps positionals', () => {
    expect(parseArgs(['list', '--db', 'x.db', '--json', '--user=alice', 'extra'], spec)).toEqual({
      flags: { db: 'x.db', json: true, user: 'alice' },
      positional: ['list', 'extra'],
    });
    expect(parseArgs(['--db', 'x', '--', '--json'], spec).positional).toEqual(['--json']);
  });

  it.each([
    [['--nope'], 'unknown flag --nope'],
    [['--db'], '--db needs a value'],
    [['--db', '--json'], '--db needs a value'],
    [['--json=1'], '--json takes no value'],
    [['--db', 'a', '--db', 'b'], '--db given more than once'],
  ])('%j: %s', (argv, message) => {
    expect(() => parseArgs(argv, spec)).toThrow(new UsageError(message));
  });

  it('reads durations and listen addresses strictly', () => {
    expect(parseDuration('--expiry', '90d')).toBe(90 * 86_400_000);
    expect(parseDuration('--expiry', '30m')).toBe(1_800_000);
    expect(() => parseDuration('--expiry', '90 days')).toThrow(
      '--expiry: "90 days" is not a duration such as 90d, 12h or 30m',
    );
    expect(() => parseDuration('--expiry', '0d')).toThrow('--expiry: must be longer than zero');
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:443')).toEqual({ host: '::1', port: 443 });
    expect(() => parseListen('localhost')).toThrow('--listen: "localhost" is not HOST:PORT');
    expect(() => parseListen('h:70000')).toThrow('is not HOST:PORT');
  });
});
