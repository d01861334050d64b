import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientKey } from '../client-address.js';
import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { LoginSession } from '../store/types.js';
import { AttemptLimiter } from './attempt-limiter.js';
import { ConcurrencyGate } from './concurrency-gate.js';

/**
 * The sign-in page of interactive logins, `/login/<session>`: a device waiting in `burrow up` is
 * added to the network of whoever signs in here. So the page says whose request it is (where and
 * when it came from, the machine's key) before asking for a password, and guessing is slowed per
 * client address and per user name, with password checks capped so a flood costs a fixed share of
 * the CPU.
 */

const MAX_FORM = 4096;
const LIMITS = {
  address: {
    free: 5,
    baseDelayMs: 1000,
    maxDelayMs: 15 * 60_000,
    forgetAfterMs: 3600_000,
    maxEntries: 10_000,
  },
  // A user signing in from several devices may mistype a few times more than one client would.
  name: { free: 10, baseDelayMs: 1000, maxDelayMs: 15 * 60_000, forgetAfterMs: 3600_000, maxEntries: 10_000 },
};
/** Password hashes running at once (one per core here), and waiting for a slot. */
const HASHES_RUNNING = 2;
const HASHES_WAITING = 16;

const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(
  res: ServerResponse,
  status: number,
  title: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    ...headers,
  });
  res.end(
    `<!doctype html><meta charset="utf-8"><title>${html(title)}</title><body style="font-family:sans-serif;max-width:32em;margin:4em auto">${body}</body>`,
  );
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return null;
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM) return null;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** The machine key's first characters, grouped: enough to tell two machines apart at a glance. */
export const keyFingerprint = (machineKey: string) => machineKey.slice(0, 12).replace(/(.{4})(?=.)/g, '$1 ');

function ago(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  return minutes < 1 ? 'less than a minute ago' : minutes === 1 ? '1 minute ago' : `${minutes} minutes ago`;
}

/** Who asked: shown above the form, so a link someone else sent reads as theirs, not yours. */
function request(session: LoginSession, now: number): string {
  const from = session.requestedFrom ? ` from <b>${html(session.requestedFrom)}</b>` : '';
  return `<p>This sign-in link was requested${from} at ${utc(session.createdAt)} (${ago(now - session.createdAt)}) by a machine whose key starts <code>${html(keyFingerprint(session.machineKey))}</code>. It expires at ${utc(session.expiresAt)}.</p>
<p><b>Continue only if you just ran <code>burrow up</code> on that device yourself.</b> If someone sent you this link, close this page: signing in would add their device to your network.</p>`;
}

function signInForm(session: LoginSession, now: number): string {
  return `<h1>Add ${html(session.hostname)} to your network?</h1>${request(session, now)}<form method="post"><p><label>Name <input name="name" autocomplete="username" required></label></p><p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p><p><button>Sign in and add ${html(session.hostname)}</button></p></form>`;
}

export interface LoginPages {
  /** Answers `/login/<id>` (GET: the form; POST: a sign-in); false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
}

export function loginPages(
  store: Store,
  now: () => number,
  clientAddress: (req: IncomingMessage) => string = (req) => req.socket.remoteAddress ?? '',
): LoginPages {
  const byAddress = new AttemptLimiter(LIMITS.address);
  const byName = new AttemptLimiter(LIMITS.name);
  const hashes = new ConcurrencyGate(HASHES_RUNNING, HASHES_WAITING);

  const tooMany = (res: ServerResponse, waitMs: number, url: string) => {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    page(
      res,
      429,
      'Too many attempts',
      `<h1>Too many sign-in attempts.</h1><p>Wait ${seconds} seconds, then <a href="${html(url)}">try again</a>.</p>`,
      { 'retry-after': String(seconds) },
    );
  };

  const signIn = async (req: IncomingMessage, res: ServerResponse, path: string, session: LoginSession) => {
    const form = await readForm(req);
    if (!form) return page(res, 400, 'Bad request', '<h1>The form could not be read.</h1>');
    const name = (form.get('name') ?? '').slice(0, 256);
    const address = [clientKey(clientAddress(req))];
    const names = [name.toLowerCase()];
    // The address first: a client already told to wait does not spend the name's attempts too.
    const waitMs = byAddress.take(address, now()) || byName.take(names, now());
    if (waitMs > 0) return tooMany(res, waitMs, path);
    const check = hashes.run(() => store.verifyPassword(name, form.get('password') ?? ''));
    if (check === null) {
      return page(res, 503, 'Busy', '<h1>Too many sign-ins at once.</h1><p>Try again in a moment.</p>', {
        'retry-after': '1',
      });
    }
    const user = await check;
    if (!user) {
      return page(
        res,
        401,
        'Sign-in failed',
        `<h1>Wrong name or password.</h1><p><a href="${html(path)}">Try again</a></p>`,
      );
    }
    byAddress.succeed(address);
    byName.succeed(names);
    try {
      await store.completeLoginSession(session.id, user.id, now());
    } catch (error) {
      if (!(error instanceof StoreError) || !error.code.startsWith('login-')) throw error;
      return gone(res);
    }
    page(
      res,
      200,
      'Device added',
      `<h1>${html(session.hostname)} is now on your network.</h1><p>You can close this page.</p>`,
    );
  };

  return {
    async handle(req, res, path) {
      const match = /^\/login\/([A-Za-z0-9_-]{1,64})$/.exec(path);
      if (!match) return false;
      let session: LoginSession;
      try {
        session = await store.getLoginSession(match[1]!);
      } catch {
        page(res, 404, 'Unknown login', '<h1>This login link is not valid.</h1>');
        return true;
      }
      if (session.expiresAt <= now() || session.completedDeviceId) gone(res);
      else if (req.method === 'POST') await signIn(req, res, path, session);
      else if (req.method === 'GET') page(res, 200, 'Sign in to Burrow', signInForm(session, now()));
      else page(res, 405, 'Method not allowed', '<h1>Use the form.</h1>', { allow: 'GET, POST' });
      return true;
    },
  };
}

function gone(res: ServerResponse): void {
  page(
    res,
    410,
    'Login link used',
    '<h1>This login link has expired or was already used.</h1><p>Run <code>burrow up</code> again for a new one.</p>',
  );
}
