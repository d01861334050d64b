/**
 * The Devices screen's names, rendered to HTML from the sample status: each device by its short
 * name (collision suffixes as burrowd gives them), its full name beside a "Copy name" button, and a
 * shared device's owner and network. Clicking and the clipboard are in ui.smoke.test.ts (Chromium).
 */
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { type BurrowState, createBurrowStore } from '../store.js';
import { BurrowProvider } from '../store-context.js';
import { fakeApi } from '../test-support/fake-api.js';
import { DevicesView } from './devices-view.js';

async function rendered(): Promise<string> {
  const store = createBurrowStore(fakeApi());
  const stop = store.getState().start();
  await vi.waitFor(() => expect(store.getState().loaded).toBe(true), { interval: 1 });
  stop();
  // Rendering on the server reads a store's initial state: hand it one that starts as loaded.
  const loaded = createStore<BurrowState>()(() => store.getState());
  return renderToStaticMarkup(
    <BurrowProvider store={loaded}>
      <DevicesView />
    </BurrowProvider>,
  );
}

/** The HTML of the `<li>` with this test id (rows hold no nested list items but their addresses'). */
function row(html: string, testId: string): string {
  const start = html.indexOf(`<li class="peer" data-testid="${testId}"`);
  if (start < 0) throw new Error(`no row ${testId}`);
  const end = html.indexOf('<li class="peer"', start + 1);
  return html.slice(start, end < 0 ? undefined : end);
}

describe('the Devices screen', () => {
  it('shows each peer by its short name, the full name on hover and below it with "Copy name"', async () => {
    const desk = row(await rendered(), 'peer-desk');
    expect(desk).toContain(
      '<strong class="peer-name" title="desk.home.burrow.internal" data-testid="peer-name">desk</strong>',
    );
    expect(desk).toContain('<code data-testid="full-name">desk.home.burrow.internal</code>');
    expect(desk).toMatch(
      /<button type="button" class="copy" data-testid="copy-name-desk" aria-label="Copy desk&#x27;s name desk.home.burrow.internal">Copy name<\/button>/,
    );
    expect(desk).toMatch(/data-testid="copy-desk" aria-label="Copy desk&#x27;s address 100.64.0.2">Copy IP</);
  });

  it('shows a collision-suffixed name as the status gives it, and a shared device’s network', async () => {
    const html = await rendered();
    const carols = row(html, 'peer-desk-carol');
    expect(carols).toContain(
      'title="desk.carol.burrow.internal" data-testid="peer-name">desk-carol</strong>',
    );
    expect(carols).toContain('<span class="muted" data-testid="peer-owner">carol · network carol</span>');
    expect(carols).toContain('data-testid="copy-name-desk-carol"');
    expect(carols).toContain('data-testid="shared-badge"');
    // Our own devices show their user only.
    expect(row(html, 'peer-gateway')).toContain('<span class="muted" data-testid="peer-owner">alice</span>');
    expect(row(html, 'peer-nas')).toContain('data-testid="peer-owner">bob · network bob</span>');
  });

  it('shows this device by its short name with its full name and "Copy name"', async () => {
    const html = await rendered();
    const self = html.slice(html.indexOf('data-testid="self"'), html.indexOf('<h2>Peers</h2>'));
    expect(self).toContain('title="laptop.home.burrow.internal">laptop</strong>');
    expect(self).toContain('data-testid="copy-name-self"');
    expect(self).toContain('>Copy IP<');
  });
});
