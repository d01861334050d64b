import { describe, expect, it } from 'vitest';
import { describeTrace, PING, parsePort, parseTraceTarget, traceRequestOf } from './trace-target.js';

describe('the "Why can’t I reach…" field', () => {
  it.each([
    ['webcam', 'webcam', null],
    ['  webcam:80 ', 'webcam', 80],
    ['webcam.team.burrow.internal:443', 'webcam.team.burrow.internal', 443],
    ['100.64.0.2', '100.64.0.2', null],
    ['100.64.0.2:22', '100.64.0.2', 22],
    ['fd7a:115c:a1e0::2', 'fd7a:115c:a1e0::2', null],
    ['[fd7a:115c:a1e0::2]:8080', 'fd7a:115c:a1e0::2', 8080],
  ])('reads %j as burrow trace reads TARGET[:PORT]', (text, host, port) => {
    expect(parseTraceTarget(text)).toEqual({ ok: true, value: { host, port } });
  });

  it.each([
    ['', 'Type a device name or an IP address'],
    ['webcam:0', '"0" is not a port (1-65535)'],
    ['webcam:65536', '"65536" is not a port (1-65535)'],
    ['webcam:http', '"http" is not a port (1-65535)'],
    ['web cam', '"web cam" is not a device or host name'],
    ['-webcam', '"-webcam" is not a device or host name'],
    ['100.64.0.256', '"100.64.0.256" is not an IP address'],
    ['[fd7a::zz]:80', '"fd7a::zz" is not an IP address'],
    ['a'.repeat(254), 'That name is too long'],
  ])('refuses %j, saying why', (text, error) => {
    expect(parseTraceTarget(text)).toEqual({ ok: false, error });
  });

  it('takes ports 1 to 65535', () => {
    expect(parsePort('1')).toEqual({ ok: true, value: 1 });
    expect(parsePort('65535')).toEqual({ ok: true, value: 65535 });
    expect(parsePort('-1').ok).toBe(false);
    expect(parsePort('8o').ok).toBe(false);
  });
});

describe('trace requests', () => {
  it('asks for a ping without a port, and tcp or udp with one', () => {
    expect(traceRequestOf('webcam', PING)).toEqual({ target: 'webcam', proto: 'icmp' });
    expect(traceRequestOf('webcam', { proto: 'tcp', port: 80 })).toEqual({
      target: 'webcam',
      proto: 'tcp',
      port: 80,
    });
    expect(traceRequestOf('webcam', { proto: 'udp', port: 53 })).toMatchObject({ proto: 'udp', port: 53 });
  });

  it('names what it traces as the CLI writes it', () => {
    expect(describeTrace('webcam', PING)).toBe('ping webcam');
    expect(describeTrace('webcam', { proto: 'tcp', port: 80 })).toBe('webcam:80');
    expect(describeTrace('webcam', { proto: 'udp', port: 53 })).toBe('webcam:53 (UDP)');
    expect(describeTrace('fd7a::2', { proto: 'tcp', port: 22 })).toBe('[fd7a::2]:22');
  });
});
