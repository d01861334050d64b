/// <reference types="node" />
/**
 * A stand-in for the app's web-mode broker, on 127.0.0.1: the same contract (bearer token on
 * `POST /api/call/<name>`, `{error, status}` refusals, SSE on `/api/events?token=`), with answers
 * from a table, and optionally the built UI as static files. Tests drive events with `send`.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

/** Throw one of these from a handler to refuse the call. */
export class Refusal {
  constructor(
    readonly status: number,
    readonly error: string,
    /** The HTTP status, when it differs from the body's (status 0 travels as 503). */
    readonly httpStatus = status === 0 ? 503 : status,
  ) {}
}

export type BrokerHandler = (request: unknown) => unknown;

export interface FakeBroker {
  origin: string;
  token: string;
  calls: { name: string; request: unknown }[];
  /** Event stream connections so far (including refused ones). */
  streamsOpened: number;
  /** Writes one SSE message (raw data text) to every open stream. */
  send(data: string): void;
  /** Resolves once at least `count` streams are open. */
  streams(count: number): Promise<void>;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

export async function startFakeBroker(options: {
  handlers: Record<string, BrokerHandler>;
  token?: string;
  staticDir?: string;
}): Promise<FakeBroker> {
  const token = options.token ?? 'test-token';
  const open = new Set<ServerResponse>();
  const waiters: (() => void)[] = [];
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/api/events') {
      broker.streamsOpened++;
      if (url.searchParams.get('token') !== token) return json(res, 401, { error: 'bad token', status: 401 });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write(': hello\n\n');
      open.add(res);
      res.on('close', () => open.delete(res));
      for (const wake of waiters.splice(0)) wake();
      return;
    }
    if (url.pathname.startsWith('/api/call/')) {
      if (req.headers.authorization !== `Bearer ${token}`)
        return json(res, 401, { error: 'bad token', status: 401 });
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const name = url.pathname.slice('/api/call/'.length);
      const request: unknown = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      broker.calls.push({ name, request });
      const handler = options.handlers[name];
      if (!handler) return json(res, 404, { error: `unknown call "${name}"`, status: 404 });
      try {
        return json(res, 200, await handler(request));
      } catch (error) {
        if (error instanceof Refusal)
          return json(res, error.httpStatus, { error: error.error, status: error.status });
        return json(res, 500, { error: String(error), status: 500 });
      }
    }
    if (!options.staticDir) return json(res, 404, { error: 'no such page', status: 404 });
    const path = normalize(url.pathname === '/' ? '/index.html' : url.pathname);
    try {
      const body = await readFile(join(options.staticDir, path));
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const broker: FakeBroker = {
    origin: `http://127.0.0.1:${port}`,
    token,
    calls: [],
    streamsOpened: 0,
    send(data) {
      for (const res of open) res.write(`data: ${data}\n\n`);
    },
    streams(count) {
      return new Promise<void>((resolve) => {
        const check = () => (open.size >= count ? resolve() : waiters.push(check));
        check();
      });
    },
    async close() {
      for (const res of open) res.end();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return broker;
}
