/**
 * Web mode: the UI in an ordinary browser, for machines without a desktop session and for
 * development. It serves the built UI and the same calls as the app's IPC on 127.0.0.1 only.
 *
 * Any local program (and any web page, through the browser) can reach a loopback port, so:
 *   - every call needs the random token, as `Authorization: Bearer` (a header a cross-site page
 *     cannot send without a CORS preflight, which is never granted). The URL carries it in the
 *     fragment, which the browser never sends: the page reads it from location.hash.
 *   - the event stream takes the token in the query, because EventSource cannot set headers.
 *   - the Host header must name this server (a rebound DNS name would not), and an Origin, when
 *     present, must be this server's own.
 * The static files carry a strict CSP; they hold no secret, so they need no token.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_BODY } from '../src/localapi/api.js';
import type { AppPlatform, Broker } from './broker.js';
import { CSP } from './csp.js';

/** Where `npm run build:ui` writes the UI. */
export const DEFAULT_STATIC_ROOT = fileURLToPath(new URL('../dist/renderer/', import.meta.url));

/**
 * App calls in web mode. The server cannot reach the user's clipboard or browser, so copyText and
 * openLogin succeed without doing anything: the page copies with navigator.clipboard and opens the
 * login URL itself. Installing asks for a password, which a browser tab cannot show.
 */
export const webPlatform: AppPlatform = {
  copyText: () => undefined,
  openExternal: () => undefined,
  installHelper: async () => ({
    installed: false,
    detail:
      'In web mode, install burrowd from a terminal: npm run build:helper && ' +
      'sudo BURROW_HELPER_DIR=$PWD/dist/package/helper scripts/install-helper.sh',
  }),
};

export interface WebServerOptions {
  broker: Pick<Broker, 'call' | 'subscribe'>;
  /** 0 (the default) for any free port. */
  port?: number;
  staticRoot?: string;
  /** How often the event stream sends a comment, so that idle proxies and browsers keep it. */
  pingMs?: number;
}

export interface WebServer {
  /** http://127.0.0.1:PORT/#token=TOKEN: open it in a browser. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head = false): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : body);
}

/** Errors are `{ error, status }` like the IPC's; status 0 (burrowd unreachable) travels as 503. */
const sendJson = (res: ServerResponse, status: number, body: unknown) =>
  send(res, status === 0 ? 503 : status, 'application/json', JSON.stringify(body));

const sendError = (res: ServerResponse, status: number, error: string) =>
  sendJson(res, status, { error, status });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY)
      return reject(new HttpError(413, `request: over ${MAX_BODY} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(new HttpError(413, `request: over ${MAX_BODY} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { broker } = options;
  const token = randomBytes(24).toString('base64url');
  const root = resolve(options.staticRoot ?? DEFAULT_STATIC_ROOT);
  const pingMs = options.pingMs ?? 15_000;
  let port = 0;

  const tokenOk = (given: string | null | undefined) =>
    typeof given === 'string' &&
    given.length === token.length &&
    timingSafeEqual(Buffer.from(given), Buffer.from(token));

  const checkOrigin = (req: IncomingMessage) => {
    const host = req.headers.host;
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`)
      throw new HttpError(403, `refused: Host ${JSON.stringify(host ?? '')} is not this server`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`)
      throw new HttpError(403, `refused: Origin ${JSON.stringify(origin)} is not this server`);
  };

  const call = async (req: IncomingMessage, res: ServerResponse, name: string) => {
    if (req.method !== 'POST') throw new HttpError(405, 'calls are POST');
    const auth = req.headers.authorization;
    if (!tokenOk(auth?.startsWith('Bearer ') ? auth.slice(7) : null))
      throw new HttpError(401, 'a valid token is required (Authorization: Bearer TOKEN)');
    const text = await readBody(req);
    let request: unknown;
    try {
      request = text.trim() === '' ? {} : JSON.parse(text);
    } catch (error) {
      throw new HttpError(400, `request: not valid JSON (${(error as Error).message})`);
    }
    const reply = await broker.call(name, request);
    if (reply.ok) sendJson(res, 200, reply.response);
    else sendJson(res, reply.error.status, reply.error);
  };

  const streams = new Set<() => void>();
  const events = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (req.method !== 'GET') throw new HttpError(405, 'the event stream is GET');
    if (!tokenOk(url.searchParams.get('token')))
      throw new HttpError(401, 'a valid token is required (?token=)');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.write(': burrow events\n\n');
    const ping = setInterval(() => res.write(': ping\n\n'), pingMs);
    const unsubscribe = broker.subscribe((event) => res.write(`data: ${JSON.stringify(event)}\n\n`));
    const stop = () => {
      clearInterval(ping);
      unsubscribe();
      streams.delete(stop);
    };
    streams.add(stop);
    res.on('close', stop);
  };

  const serveStatic = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'static files are GET');
    const built = await stat(join(root, 'index.html')).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!built)
      return send(
        res,
        503,
        'text/plain; charset=utf-8',
        `The UI is not built (no ${root}): run \`npm run build:ui\`\n`,
      );
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      throw new HttpError(400, 'malformed path');
    }
    const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    const inside = relative(root, file);
    const found =
      !path.includes('\0') &&
      !inside.startsWith('..') &&
      !isAbsolute(inside) &&
      (await stat(file).then(
        (s) => s.isFile(),
        () => false,
      ));
    if (!found) throw new HttpError(404, `no ${url.pathname}`);
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    send(res, 200, type, await readFile(file), req.method === 'HEAD');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    checkOrigin(req);
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname.startsWith('/api/call/')) return call(req, res, url.pathname.slice('/api/call/'.length));
    if (url.pathname === '/api/events') return events(req, res, url);
    if (url.pathname.startsWith('/api/')) throw new HttpError(404, `no ${url.pathname}`);
    return serveStatic(req, res, url);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof HttpError) {
        // A body we will not read: close the connection rather than swallow the rest of it.
        if (error.status === 413) res.setHeader('connection', 'close');
        return sendError(res, error.status, error.message);
      }
      sendError(res, 500, `internal error: ${(error as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    port,
    token,
    close: async () => {
      for (const stop of [...streams]) stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
