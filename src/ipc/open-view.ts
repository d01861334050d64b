/**
 * How main opens the window on a view other than the first: the tray's "Why can't I reach…" and
 * a device's "Trace…" load the page with a fragment, `#trace` (the journey view, empty, for the
 * user to type a name) or `#trace=NAME` (traced at once). The page follows it when it loads and
 * on each later change (renderer/follow-open.ts), and reads it as any input: a name that is no
 * trace target opens the view empty.
 */
import { operations } from '../localapi/api.js';

export interface OpenTrace {
  /** null: the view opens empty, its field focused. */
  target: string | null;
}

const KEY = 'trace';

/** The fragment (without '#') that opens the journey view on `target`, or empty for null. */
export function traceHash(target: string | null): string {
  return target === null ? KEY : `${KEY}=${encodeURIComponent(target)}`;
}

/** The journey view a fragment asks for, or null if it asks for none (`#token=...` in web mode). */
export function viewFromHash(hash: string): OpenTrace | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  if (!params.has(KEY)) return null;
  const target = params.get(KEY)?.trim() ?? '';
  if (target === '') return { target: null };
  try {
    operations.trace.request.parse({ target });
  } catch {
    return { target: null };
  }
  return { target };
}
