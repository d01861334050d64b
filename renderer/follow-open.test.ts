import { describe, expect, it } from 'vitest';
import { traceHash, viewFromHash } from '../src/ipc/open-view.js';
import { followOpenRequests } from './follow-open.js';

describe('the view the address asks for', () => {
  it('reads #trace and #trace=NAME as main writes them', () => {
    expect(viewFromHash(`#${traceHash(null)}`)).toEqual({ target: null });
    expect(viewFromHash(`#${traceHash('nas-carol')}`)).toEqual({ target: 'nas-carol' });
    expect(viewFromHash(`#${traceHash('fd7a::2')}`)).toEqual({ target: 'fd7a::2' });
    expect(viewFromHash('#trace=')).toEqual({ target: null });
  });

  it('asks for no view otherwise (web mode’s #token=...), and opens a bad name empty', () => {
    expect(viewFromHash('')).toBeNull();
    expect(viewFromHash('#token=abc')).toBeNull();
    expect(viewFromHash('#devices')).toBeNull();
    expect(viewFromHash(`#trace=${'a'.repeat(300)}`)).toEqual({ target: null });
  });

  it('opens the view at load and on each change, and takes it out of the address', () => {
    const listeners = new Map<string, () => void>();
    const location = { hash: '#trace=webcam', pathname: '/index.html', search: '' };
    const replaced: string[] = [];
    const win = {
      location,
      history: {
        state: null,
        replaceState: (_: unknown, __: string, url: string) => {
          replaced.push(url);
          location.hash = '';
        },
      },
      addEventListener: (type: string, listener: () => void) => listeners.set(type, listener),
      removeEventListener: (type: string) => listeners.delete(type),
    } as unknown as Parameters<typeof followOpenRequests>[0];
    const opened: unknown[] = [];
    const stop = followOpenRequests(win, (r) => opened.push(r));
    expect(opened).toEqual([{ target: 'webcam' }]);
    expect(replaced).toEqual(['/index.html']);
    location.hash = '#trace';
    listeners.get('hashchange')!();
    location.hash = '#other';
    listeners.get('hashchange')!();
    expect(opened).toEqual([{ target: 'webcam' }, { target: null }]);
    stop();
    expect(listeners.size).toBe(0);
  });
});
