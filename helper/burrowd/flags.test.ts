import { describe, expect, it } from 'vitest';
import { parseFlags } from './flags.js';

describe('burrowd flags', () => {
  it('has the documented defaults', () => {
    expect(parseFlags([])).toEqual({
      stateDir: '/var/lib/burrow',
      socket: '/run/burrow/burrowd.sock',
      tun: 'burrow0',
      port: 0,
      verbose: false,
      daemon: false,
    });
  });

  it('takes --daemon with --wg-config or --interface only', () => {
    expect(parseFlags(['--wg-config', '/etc/wg0.conf', '--daemon']).daemon).toBe(true);
    expect(parseFlags(['--interface', 'wg0', '--daemon']).daemon).toBe(true);
    expect(() => parseFlags(['--daemon'])).toThrow(/--daemon: only with --wg-config or --interface/);
    expect(() => parseFlags(['--wg-config', '/etc/wg0.conf', '--daemon=yes'])).toThrow(/takes no value/);
  });

  it('takes --interface alone: a bare interface, as `wireguard-go NAME`', () => {
    const f = parseFlags(['--interface', 'wg0']);
    expect(f.interface).toBe('wg0');
    expect(f.wgConfig).toBeUndefined();
  });

  it('takes values as separate arguments or after =', () => {
    const f = parseFlags(['--wg-config', '/etc/wg0.conf', '--interface=wgx', '--port=51820', '--tun', 'bw1']);
    expect(f).toMatchObject({ wgConfig: '/etc/wg0.conf', interface: 'wgx', port: 51820, tun: 'bw1' });
  });

  it.each([
    [['--nope'], 'unknown flag "--nope"'],
    [['--port'], '--port: needs a value'],
    [['--port', '--verbose'], '--port: needs a value'],
    [['--port', '70000'], '--port: "70000" is not a port number (0-65535)'],
    [['--port', '-1'], '--port: "-1" is not a port number (0-65535)'],
    [['--port', '1e3'], '--port: "1e3" is not a port number (0-65535)'],
    [['--tun', 'a/b'], '--tun: "a/b" is not a valid interface name (1-15 letters, digits or _.=+-)'],
    [['--tun', 'a-very-long-interface'], '--tun: "a-very-long-interface" is not a valid interface name'],
    [['--interface', 'wg0', '--tun', 'bw1'], '--tun: not with --interface alone (a bare interface)'],
    [['--interface', 'wg0', '--port', '1'], '--port: not with --interface alone (a bare interface)'],
    [['--verbose=yes'], '--verbose: takes no value'],
    [['--operator', 'Bad User'], '--operator: "Bad User" is not a user name or uid'],
    [['--port', '1', '--port', '2'], '--port: given more than once'],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseFlags(argv)).toThrow(message);
  });
});
