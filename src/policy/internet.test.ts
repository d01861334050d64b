import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { complement, INTERNET_PREFIXES } from './internet.js';
import { containsAddress, parseAddress, parsePrefix } from './prefix.js';

const p = parsePrefix;
const addr = (text: string) => parseAddress(text).addr;

describe('autogroup:internet', () => {
  const inInternet = (ip: string) => INTERNET_PREFIXES.some((q) => containsAddress(q, addr(ip)));

  it.each([
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['11.0.0.0', true],
    ['100.63.255.255', true],
    ['100.128.0.0', true],
    ['223.255.255.255', true],
    ['2606:4700::1111', true],
    ['10.1.2.3', false],
    ['100.64.0.5', false],
    ['172.16.0.1', false],
    ['172.32.0.1', true],
    ['192.168.1.1', false],
    ['127.0.0.1', false],
    ['169.254.1.1', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['fd7a:115c:a1e0::5', false],
    ['fe80::1', false],
    ['::1', false],
  ])('%s: %s', (ip, expected) => {
    expect(inInternet(ip)).toBe(expected);
  });

  it('complement covers exactly what is not excluded', () => {
    const rng = new Rng(5);
    const whole = p('10.0.0.0/8');
    const excluded = ['10.1.0.0/16', '10.200.3.0/24', '10.0.0.7/32'].map(p);
    const parts = complement(whole, excluded);
    for (let i = 0; i < 5000; i++) {
      const a = new Uint8Array([10, rng.int(256), rng.chance(0.3) ? 3 : rng.int(256), rng.int(256)]);
      if (i % 7 === 0) a.set([10, 0, 0, rng.int(16)]);
      const covered = parts.filter((q) => containsAddress(q, a)).length;
      expect(covered).toBe(excluded.some((e) => containsAddress(e, a)) ? 0 : 1);
    }
  });
});
