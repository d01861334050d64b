/**
 * The page's side of src/ipc/open-view.ts: opens the view the address's fragment asks for, when
 * the page loads and whenever main changes the fragment, then takes the fragment out of the
 * address, so that the same entry chosen again in the tray is a change the page hears.
 */
import { type OpenTrace, viewFromHash } from '../src/ipc/open-view.js';

export function followOpenRequests(
  win: Pick<Window, 'location' | 'history' | 'addEventListener' | 'removeEventListener'>,
  open: (request: OpenTrace) => void,
): () => void {
  const check = () => {
    const request = viewFromHash(win.location.hash);
    if (request === null) return;
    win.history.replaceState(win.history.state, '', `${win.location.pathname}${win.location.search}`);
    open(request);
  };
  check();
  win.addEventListener('hashchange', check);
  return () => win.removeEventListener('hashchange', check);
}
