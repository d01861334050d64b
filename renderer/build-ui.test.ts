/// <reference types="node" />
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from './test-support/build-ui.js';

describe('scripts/build-ui.ts', () => {
  let built: { dir: string; output: string };
  beforeAll(async () => {
    built = await buildUi();
  });
  afterAll(() => rm(built.dir, { recursive: true, force: true }));

  it('writes the page, the bundle and the stylesheet, and prints their sizes', async () => {
    for (const name of ['index.html', 'app.js', 'app.css']) {
      expect((await stat(join(built.dir, name))).size).toBeGreaterThan(0);
      expect(built.output).toMatch(new RegExp(`${name.replace('.', '\\.')}\\s+\\d+ B\\s+\\d+ B gzip`));
    }
  });

  it('gives a page that runs under script-src/style-src self: nothing inline', async () => {
    const html = await readFile(join(built.dir, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.map(([, attrs, body]) => [attrs?.includes('src="app.js"'), body?.trim()])).toEqual([
      [true, ''],
    ]);
    expect(html).toContain('href="app.css"');
  });

  it('bundles React’s production build (its errors are minified), with no process.env left', async () => {
    const js = await readFile(join(built.dir, 'app.js'), 'utf8');
    expect(js).toContain('Minified React error');
    expect(js).not.toContain('process.env');
  });
});
