/**
 * Web mode: the page is served by the app's broker on 127.0.0.1, which carries the same calls as
 * the Electron preload over HTTP (`POST /api/call/<name>`, bearer token) and burrowd's events as
 * server-sent events. The token comes once, in the URL fragment, so it never reaches a server log
 * or the Referer header; it is kept in sessionStorage so that a reload of the tab still works.
 */
import { ipcError } from '../src/ipc/schema.js';
import type { RawApi } from './api.js';
import { BurrowError, type ProblemReporter } from './burrow-error.js';

/** The part of EventSource this client uses, so tests can supply their own. */
export interface EventSourceLike {
  onmessage: ((message: MessageEvent<string>) => void) | null;
  onerror: ((event: Event) => void) | null;
  readonly readyState: number;
  close(): void;
}

/** EventSource.CLOSED: the browser gave up on the stream and will not reconnect by itself. */
const CLOSED = 2;

export interface WebApiOptions {
  /** Where the broker is, e.g. http://127.0.0.1:4242 (the page's own origin in a browser). */
  origin: string;
  token: string;
  fetch: typeof fetch;
  openEvents: (url: string) => EventSourceLike;
  /** Web mode's stand-ins for what Electron's main does itself. */
  writeClipboard: (text: string) => Promise<void>;
  openWindow: (url: string) => void;
  report: ProblemReporter;
  /** How long to wait before reopening an event stream the browser gave up on. */
  retryMs?: number;
}

export function createWebApi(options: WebApiOptions): RawApi {
  const { origin, token } = options;

  async function call(name: string, request: unknown): Promise<unknown> {
    // These two act on the user's own browser; the broker has no clipboard or window to open.
    if (name === 'copyText') {
      await options.writeClipboard((request as { text: string }).text);
      return {};
    }
    if (name === 'openLogin') {
      options.openWindow((request as { url: string }).url);
      return {};
    }
    let response: Response;
    try {
      response = await options.fetch(`${origin}/api/call/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
    } catch (error) {
      throw new BurrowError(`the Burrow app did not answer (${(error as Error).message})`, 0);
    }
    const text = await response.text();
    if (!response.ok) throw refusal(response.status, text);
    try {
      return JSON.parse(text);
    } catch {
      throw new BurrowError(`the answer to ${name} was not JSON`, 502);
    }
  }

  function onEvent(listener: (event: unknown) => void): () => void {
    const url = `${origin}/api/events?token=${encodeURIComponent(token)}`;
    let source: EventSourceLike | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const open = () => {
      const current = options.openEvents(url);
      source = current;
      current.onmessage = ({ data }) => {
        let value: unknown;
        try {
          value = JSON.parse(data);
        } catch {
          options.report(new BurrowError('ignored an event that was not JSON', 502));
          return;
        }
        listener(value);
      };
      current.onerror = () => {
        // While CONNECTING the browser retries by itself; CLOSED (a refusal, say) is final for it.
        if (current.readyState !== CLOSED || source !== current) return;
        options.report(new BurrowError('lost the event stream from the Burrow app; retrying', 0));
        retry = setTimeout(open, options.retryMs ?? 5000);
      };
    };
    open();
    return () => {
      clearTimeout(retry);
      source?.close();
      source = null;
    };
  }

  return { call, onEvent };
}

/** The broker's `{error, status}` body, or the bare HTTP status when the body is not that shape. */
function refusal(httpStatus: number, body: string): BurrowError {
  try {
    const { error, status } = ipcError.parse(JSON.parse(body));
    return new BurrowError(error, status);
  } catch {
    return new BurrowError(`the Burrow app refused the call (HTTP ${httpStatus})`, httpStatus);
  }
}

const TOKEN_KEY = 'burrow.token';

/**
 * The token from `#token=...`, then removed from the address bar (and history) so it is not
 * bookmarked or shared by accident; on a reload, the copy kept for this tab.
 */
export function takeToken(
  location: Pick<Location, 'hash' | 'pathname' | 'search'>,
  history: Pick<History, 'replaceState' | 'state'>,
  storage: Pick<Storage, 'getItem' | 'setItem'>,
): string {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromFragment) {
    storage.setItem(TOKEN_KEY, fromFragment);
    history.replaceState(history.state, '', `${location.pathname}${location.search}`);
    return fromFragment;
  }
  return storage.getItem(TOKEN_KEY) ?? '';
}

/** Web mode as the browser provides it. */
export function browserWebApi(report: ProblemReporter): RawApi {
  return createWebApi({
    origin: window.location.origin,
    token: takeToken(window.location, window.history, window.sessionStorage),
    fetch: (input, init) => window.fetch(input, init),
    openEvents: (url) => new EventSource(url),
    writeClipboard: (text) => navigator.clipboard.writeText(text),
    openWindow: (url) => {
      window.open(url, '_blank', 'noopener');
    },
    report,
  });
}
