import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import { SchemaError } from '../../src/control/schema.js';
import {
  type Event,
  LOCALAPI_PREFIX,
  MAX_BODY,
  type OperationName,
  operations,
  type RequestOf,
  type ResponseOf,
} from '../../src/localapi/api.js';
import { native } from '../native/index.js';

/** Who is calling, from the kernel's record of the connecting process (SO_PEERCRED). */
export interface Caller {
  pid: number;
  uid: number;
  gid: number;
  /** Root or the operator user: may call operations that change something. */
  mayChange: boolean;
}

/** A refusal a handler wants the caller to see, with its HTTP status. */
export class LocalApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Unary = Exclude<OperationName, 'events'>;

export type Handlers = {
  [N in Unary]: (request: RequestOf<N>, caller: Caller) => ResponseOf<N> | Promise<ResponseOf<N>>;
};

export interface LocalApiOptions {
  socketPath: string;
  /** The uid allowed to change things besides root (`--operator`); null for root only. */
  operatorUid: number | null;
  handlers: Handlers;
  /**
   * Subscribes one connection to events; returns the unsubscribe function. The current state is
   * sent first. What a subscriber may see depends on who it is (the login URL: only callers who
   * may change things), hence the caller.
   */
  subscribe(send: (event: Event) => void, caller: Caller): () => void;
  log?: (message: string) => void;
}

export interface LocalApiServer {
  close(): Promise<void>;
}

/** Reads the kernel's record of the peer of a unix socket connection. */
function callerOf(socket: Socket, operatorUid: number | null): Caller {
  // libuv's pipe handle holds the descriptor; Node has no public accessor for it.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the connection has no descriptor');
  const { pid, uid, gid } = native().peerCred(fd);
  return { pid, uid, gid, mayChange: uid === 0 || (operatorUid !== null && uid === operatorUid) };
}

/** How long a connection whose request body went unread stays half-closed after the answer. */
const LINGER_MS = 500;

/**
 * Answers with a JSON body. An answer sent before the request's body was read in full (refused
 * unread, or over MAX_BODY) says `connection: close`: the rest of the body is never read, so a
 * client cannot make burrowd swallow an endless upload (with keep-alive, Node would read on to
 * find where the next request starts).
 */
function reply(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  const early = !req.complete;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(early ? { connection: 'close' } : {}),
  });
  if (early) lingerBeforeClosing(req.socket as Socket);
  res.end(text);
}

/**
 * Node ends a `connection: close` answer with destroySoon: FIN, then close as soon as the answer is
 * out. Closed with the client's upload unread, the connection is reset, and a client still
 * uploading can lose the answer to its next write (EPIPE) before it reads it. So, like Go's
 * net/http and nginx, the close waits a moment after the FIN: the client reads the answer and the
 * end of the stream, and hangs up itself, or is cut off LINGER_MS later.
 */
function lingerBeforeClosing(socket: Socket): void {
  socket.destroySoon = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

/**
 * The request body, at most MAX_BODY bytes. A larger one is refused as soon as that is known: from
 * its content-length, before any of it is read, or (chunked) once MAX_BODY bytes have come; reading
 * stops there, and `reply` closes the connection after the 413.
 */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new LocalApiError(413, `request body over ${MAX_BODY} bytes`);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) return void chunks.push(chunk);
      req.off('data', onData);
      req.pause();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const entries = Object.entries(operations) as [OperationName, (typeof operations)[OperationName]][];
const byRoute = new Map(
  entries.map(([name, op]) => [`${op.method} ${LOCALAPI_PREFIX}${op.path}`, { name, op }]),
);
/** Each path's methods, to tell a wrong method from an unknown operation. */
const methodsOf = new Map<string, string[]>();
for (const [, op] of entries) {
  const path = `${LOCALAPI_PREFIX}${op.path}`;
  methodsOf.set(path, [...(methodsOf.get(path) ?? []), op.method]);
}

/**
 * burrowd's LocalAPI on a unix socket. The socket is open to every local user (mode 0666): each
 * connection is authorised by its peer's credentials, so anyone may read status, and only root and
 * the operator may change anything. Requests a browser could send (with an Origin or Referer) are
 * refused, so a web page cannot drive the helper through a local proxy. Every body is checked
 * against its operation's schema before a handler sees it, and every response before it leaves.
 */
export async function startLocalApi(options: LocalApiOptions): Promise<LocalApiServer> {
  const callers = new WeakMap<Socket, Caller>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.headers.origin !== undefined || req.headers.referer !== undefined)
      throw new LocalApiError(403, 'requests from web pages are refused');
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const route = byRoute.get(`${req.method} ${path}`);
    if (route === undefined) {
      const methods = methodsOf.get(path);
      if (methods) throw new LocalApiError(405, `${path} takes ${methods.join(' or ')}, not ${req.method}`);
      throw new LocalApiError(404, `unknown operation ${req.method} ${path}`);
    }
    const { name, op } = route;
    const caller = callers.get(req.socket as Socket);
    if (caller === undefined) throw new LocalApiError(403, 'the caller could not be identified');
    if (op.mutating && !caller.mayChange)
      throw new LocalApiError(403, `${name} changes burrowd: only root or the operator user may call it`);
    const text = await readBody(req);
    let body: unknown;
    try {
      body = op.request.parse(text.trim() === '' ? {} : JSON.parse(text), 'request');
    } catch (error) {
      if (error instanceof SchemaError) throw new LocalApiError(400, error.message);
      throw new LocalApiError(400, `request: not valid JSON (${(error as Error).message})`);
    }
    if (name === 'events') return stream(res, caller);
    const handler = options.handlers[name as Unary] as (b: unknown, c: Caller) => unknown;
    const result = await handler(body, caller);
    reply(req, res, 200, op.response.parse(result, 'response'));
  };

  const stream = (res: ServerResponse, caller: Caller) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    const unsubscribe = options.subscribe((event) => {
      res.write(`${JSON.stringify(operations.events.response.parse(event, 'event'))}\n`);
    }, caller);
    res.on('close', unsubscribe);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (error instanceof LocalApiError) return reply(req, res, error.status, { error: error.message });
      options.log?.(`localapi: ${(error as Error).stack}`);
      reply(req, res, 500, { error: `internal error: ${(error as Error).message}` });
    });
  });
  server.on('connection', (socket: Socket) => {
    try {
      callers.set(socket, callerOf(socket, options.operatorUid));
    } catch (error) {
      options.log?.(`localapi: refusing a connection: ${(error as Error).message}`);
      socket.destroy();
    }
  });

  mkdirSync(dirname(options.socketPath), { recursive: true, mode: 0o755 });
  // A socket file left by a killed burrowd would make listen fail; nobody else may own this path.
  rmSync(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, resolve);
  });
  chmodSync(options.socketPath, 0o666);
  return {
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(options.socketPath, { force: true });
    },
  };
}
