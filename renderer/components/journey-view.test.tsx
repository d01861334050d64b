/**
 * The journey view, rendered to HTML from real reports (test/support/sample-traces.ts, made by
 * burrowd's report builder): the seven stops in the packet's order, the blocking one marked and
 * holding its cause and fix, the ones before it passed and the ones after skipped. Clicking,
 * typing and the keyboard are in test/e2e/journey-ui.test.ts (Chromium).
 */
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { STAGES } from '../../src/trace/report.js';
import { type BurrowState, createBurrowStore } from '../store.js';
import { BurrowProvider } from '../store-context.js';
import { fakeApi } from '../test-support/fake-api.js';
import type { TraceChoice } from '../trace-target.js';
import { App } from './app.js';
import { JourneyView } from './journey-view.js';

async function traced(target: string | null, choice?: TraceChoice): Promise<BurrowState> {
  const store = createBurrowStore(fakeApi());
  const stop = store.getState().start();
  await vi.waitFor(() => expect(store.getState().loaded).toBe(true), { interval: 1 });
  store.getState().openJourney(target, choice);
  await vi.waitFor(() => expect(store.getState().journey?.running).toBe(false), { interval: 1 });
  stop();
  return store.getState();
}

const render = (state: BurrowState, view = <JourneyView />) =>
  renderToStaticMarkup(
    <BurrowProvider store={createStore<BurrowState>()(() => state)}>{view}</BurrowProvider>,
  );

/** Each stop's test id and status, in the order shown. */
const stops = (html: string) =>
  [...html.matchAll(/<li class="stop [^"]*" data-testid="stage-([a-z-]+)" data-status="([a-z]+)"/g)].map(
    (m) => `${m[1]} ${m[2]}`,
  );

/** The HTML of one stop. */
function stop(html: string, name: string): string {
  const start = html.indexOf(`data-testid="stage-${name}"`);
  const end = html.indexOf('<li class="stop', start);
  return html.slice(start, end < 0 ? undefined : end);
}

describe('the journey view', () => {
  it('draws a blocked trace: passed up to the stop that blocks it, that one marked, the rest skipped', async () => {
    const html = render(await traced('nas', { proto: 'tcp', port: 445 }));
    expect(stops(html)).toEqual([
      'destination ok',
      'route ok',
      'inside ok',
      'wireguard ok',
      'path ok',
      'peer-verdict blocked',
      'delivery skipped',
    ]);
    const verdict = stop(html, 'peer-verdict');
    expect(verdict).toContain('aria-current="step"');
    expect(verdict).toContain('<h3>6. Peer&#x27;s verdict</h3>');
    expect(verdict).toContain('Blocked here');
    expect(verdict).toContain('bob has Shields Up on nas');
    expect(verdict).toContain(
      '<strong>Fix:</strong> bob can turn it off on nas: burrow set --shields-up=false',
    );
    expect(stop(html, 'route')).not.toContain('aria-current');
    expect(stop(html, 'delivery')).toContain('not reached: the packet stops at Peer&#x27;s verdict');
    // The verdict above the timeline says the same, for whoever reads only that.
    expect(html).toMatch(
      /data-delivered="false"><strong>Blocked at Peer&#x27;s verdict: bob has Shields Up on nas/,
    );
    expect(html).toContain('Why can’t I reach nas:445?');
  });

  it('draws a delivered trace with each stop’s details and timing', async () => {
    const html = render(await traced('gateway', { proto: 'tcp', port: 443 }));
    expect(stops(html)).toEqual(STAGES.map((s) => `${s} ok`));
    expect(html).toContain('data-delivered="true"');
    expect(stop(html, 'path')).toContain('through the relay fra');
    expect(stop(html, 'path')).toContain('<dt>round trip</dt><dd>31 ms</dd>');
    expect(stop(html, 'path')).toContain('<span class="muted stop-ms">31 ms</span>');
    expect(stop(html, 'delivery')).toContain('SYN answered by SYN-ACK: gateway:443 listens');
    expect(html).not.toContain('aria-current');
  });

  it('names the stop for an offline device, WireGuard', async () => {
    const html = render(await traced('oldbox'));
    expect(stops(html).slice(2, 5)).toEqual(['inside ok', 'wireguard blocked', 'path skipped']);
    expect(stop(html, 'wireguard')).toContain('oldbox has been offline for 3 h');
  });

  it('opened empty: the form, its field first, and the seven stops still to come', async () => {
    const html = render(await traced(null));
    expect(html).toContain('Why can’t I reach…</h2>');
    expect(html).toMatch(/<input id="[^"]+" data-testid="trace-target" autofocus=""/);
    expect(stops(html)).toEqual(STAGES.map((s) => `${s} pending`));
    expect(html).not.toContain('data-testid="trace-verdict"');
  });

  it('takes the place of the screens while open, with no tab marked current', async () => {
    const html = render(await traced('desk'), <App />);
    expect(html).toContain('data-testid="journey"');
    expect(html).not.toContain('data-testid="peer-search"');
    expect(html).not.toContain('aria-current="page"');
  });
});
