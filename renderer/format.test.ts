import { describe, expect, it } from 'vitest';
import { formatAgo, formatExpiry } from './format.js';
import { NOW } from './test-support/fixtures.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('formatAgo', () => {
  it.each([
    [null, 'never'],
    [NOW, 'just now'],
    [NOW + 5_000, 'just now'], // burrowd's clock slightly ahead
    [NOW - 59_000, 'just now'],
    [NOW - 5 * MIN, '5 min ago'],
    [NOW - 3 * HOUR - 10 * MIN, '3 h ago'],
    [NOW - DAY, '1 day ago'],
    [NOW - 9 * DAY, '9 days ago'],
  ])('%s reads as %s', (at, text) => {
    expect(formatAgo(at, NOW)).toBe(text);
  });
});

describe('formatExpiry', () => {
  it.each([
    [NOW - 1, 'expired'],
    [NOW, 'expired'],
    [NOW + 30_000, 'expires in under a minute'],
    [NOW + 45 * MIN, 'expires in 45 min'],
    [NOW + 2 * DAY + HOUR, 'expires in 2 days'],
  ])('%s reads as %s', (at, text) => {
    expect(formatExpiry(at, NOW)).toBe(text);
  });
});
