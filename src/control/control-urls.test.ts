import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { ControlUrlError, formatControlUrls, MAX_CONTROL_URLS, parseControlUrls } from './control-urls.js';

describe('control URLs', () => {
  it('reads one URL or several, comma separated, in order, spaces around them dropped', () => {
    expect(parseControlUrls('https://burrow.example.com')).toEqual(['https://burrow.example.com']);
    expect(parseControlUrls('http://10.0.0.1:8080, http://10.0.0.2:8080/ ,https://[2001:db8::1]')).toEqual([
      'http://10.0.0.1:8080',
      'http://10.0.0.2:8080/',
      'https://[2001:db8::1]',
    ]);
    expect(formatControlUrls(parseControlUrls(' http://a:1 , http://b:2'))).toBe('http://a:1,http://b:2');
  });

  it.each([
    ['', 'an empty URL in the list'],
    ['http://a,', 'an empty URL in the list'],
    ['burrow.example.com', '"burrow.example.com" is not a URL'],
    ['http://a:1,ftp://b', '"ftp://b" is not an http(s) URL'],
    ['http:/a', '"http:/a" is not an http(s) URL'],
    ['http://a b', '"http://a b" is not a URL'],
    ['https://a/x y', '"https://a/x y": a control URL has no query, fragment or spaces'],
    ['https://a/?token=1', '"https://a/?token=1": a control URL has no query'],
    ['https://a/#x', '"https://a/#x": a control URL has no query'],
    ['https://u:p@a', '"https://u:p@a": a control URL holds no user name or password'],
    ['http://a:1,http://b:2,http://a:1', '"http://a:1" is given twice'],
    [
      Array(MAX_CONTROL_URLS + 1)
        .fill('http://a')
        .join(','),
      `${MAX_CONTROL_URLS + 1} control URLs: at most`,
    ],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parseControlUrls(text)).toThrow(ControlUrlError);
    expect(() => parseControlUrls(text)).toThrow(message);
  });

  it('never throws anything but ControlUrlError on random and mutated input', () => {
    const rng = new Rng(19);
    const pieces = [
      'http://',
      'https://',
      'a',
      ':',
      '8080',
      ',',
      ' ',
      '/',
      '?',
      '#',
      '@',
      '[',
      ']',
      '%',
      '\u00e9',
      '\n',
    ];
    for (let i = 0; i < 5000; i++) {
      let text = '';
      const n = rng.int(12);
      for (let j = 0; j < n; j++) text += rng.pick(pieces);
      try {
        for (const url of parseControlUrls(text))
          expect(['http:', 'https:']).toContain(new URL(url).protocol);
      } catch (error) {
        expect(error).toBeInstanceOf(ControlUrlError);
      }
    }
  });
});
