import { describe, expect, it } from 'vitest';
import { parseTraceTarget } from './trace-target.js';

describe('burrow trace targets', () => {
  it('reads a name, an address, each with or without a port', () => {
    expect(parseTraceTarget('webcam:80')).toEqual({ host: 'webcam', ip: null, port: 80 });
    expect(parseTraceTarget('webcam.family.burrow.internal')).toEqual({
      host: 'webcam.family.burrow.internal',
      ip: null,
      port: null,
    });
    expect(parseTraceTarget('100.64.0.2:443')).toEqual({ host: '100.64.0.2', ip: '100.64.0.2', port: 443 });
    expect(parseTraceTarget('fd7a::2')).toEqual({ host: 'fd7a::2', ip: 'fd7a::2', port: null });
    expect(parseTraceTarget('[fd7a::2]:53')).toEqual({ host: 'fd7a::2', ip: 'fd7a::2', port: 53 });
  });

  it('refuses what is no host or port, saying which', () => {
    expect(() => parseTraceTarget('webcam:0')).toThrow(/not a port/);
    expect(() => parseTraceTarget('webcam:65536')).toThrow(/not a port/);
    expect(() => parseTraceTarget('webcam:http')).toThrow(/not a port/);
    expect(() => parseTraceTarget('300.1.1.1:80')).toThrow(/not an IP address/);
    expect(() => parseTraceTarget('10.0.0.0/8')).toThrow(/not/);
    expect(() => parseTraceTarget('web cam')).toThrow(/not a device or host name/);
    expect(() => parseTraceTarget('')).toThrow(/not a device or host name/);
  });
});
