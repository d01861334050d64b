import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { EIO, errnoOf } from './errno.js';
import { DEFAULT_LIMITS, type UapiFrame, UapiFramer, type UapiLimits } from './framing.js';
import type { UapiSetRequest } from './protocol.js';

/** Where `wg` looks for a userspace interface's socket. */
export const UAPI_DIRECTORY = '/var/run/wireguard';

/** The socket path `wg` uses for interface `name` (which, as a Linux interface name, has at most 15 characters). */
export function uapiSocketPath(name: string, directory = UAPI_DIRECTORY): string {
  if (!/^[A-Za-z0-9_=+.-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw new Error(`invalid interface name ${JSON.stringify(name)}`);
  }
  return `${directory}/${name}.sock`;
}

export interface UapiHandler {
  /** The key=value lines of the answer (formatGet); the server adds `errno=0`. */
  get(): string | Promise<string>;
  /**
   * Applies a set request that parsed (the server answers one that did not); errno 0 for success,
   * else a positive errno. May also throw.
   */
  set(
    request: UapiSetRequest,
  ): { errno: number; message?: string } | Promise<{ errno: number; message?: string }>;
}

export interface UapiServerOptions extends Partial<UapiLimits> {
  /** A connection with no traffic for this long is closed (ms). */
  idleTimeoutMs?: number;
  /** Told why a request failed: the errno the client sees says little. */
  log?: (message: string) => void;
}

export interface UapiServer {
  readonly path: string;
  /** Stops listening, closes every connection and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Serves the UAPI on a unix socket at `path`, as wireguard-go does: the directory is created
 * (0755) if missing, a socket file nobody listens on any more is replaced, a live one is an error,
 * and the socket is 0600 so that only root can configure the interface. Requests are handled one
 * at a time across all connections, so a `set` never interleaves with another request.
 */
export async function startUapiServer(
  path: string,
  handler: UapiHandler,
  options: UapiServerOptions = {},
): Promise<UapiServer> {
  const limits: UapiLimits = { ...DEFAULT_LIMITS, ...options };
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const log = options.log ?? (() => {});
  const sockets = new Set<Socket>();
  let queue: Promise<void> = Promise.resolve();

  const serve = async (socket: Socket, frame: UapiFrame): Promise<void> => {
    const answer = await respond(handler, frame, log);
    if (socket.destroyed) return;
    if (answer !== null) socket.write(answer);
    // Hang up after an error: the stream cannot be parsed on. Reading continues (and is
    // discarded) until the client closes, so the answer is not lost to a reset.
    if (frame.kind === 'error') socket.end();
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    const framer = new UapiFramer(limits);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of framer.push(chunk)) {
        // Each step catches its own failure: a rejected queue would skip every later request.
        queue = queue.then(() => serve(socket, frame)).catch((err) => log(`UAPI: ${(err as Error).message}`));
      }
    });
  });

  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  try {
    await listen(server, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    await assertStale(path);
    await unlink(path);
    await listen(server, path);
  }
  server.on('error', (err) => log(`UAPI server: ${err.message}`));
  // Exactly 0600: the umask leaves 0700, and an execute bit means nothing on a socket.
  await chmod(path, 0o600);

  return {
    path,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      // Node removes the socket file when the server closes.
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** The bytes answering `frame`: key=value lines and the errno line, or null to hang up without a word. */
async function respond(
  handler: UapiHandler,
  frame: UapiFrame,
  log: (message: string) => void,
): Promise<string | null> {
  switch (frame.kind) {
    case 'get':
      try {
        return `${await handler.get()}errno=0\n\n`;
      } catch (err) {
        log(`UAPI get failed: ${(err as Error).message}`);
        return getErrno(errnoOf(err, EIO));
      }
    case 'set':
      if ('errno' in frame.request) {
        log(`UAPI set refused: ${frame.request.message}`);
        return setErrno(frame.request.errno);
      }
      try {
        const { errno, message } = await handler.set(frame.request);
        if (errno !== 0) log(`UAPI set refused: ${message ?? `errno ${errno}`}`);
        return setErrno(errno);
      } catch (err) {
        log(`UAPI set failed: ${(err as Error).message}`);
        return setErrno(errnoOf(err, EIO));
      }
    case 'error':
      log(`UAPI: ${frame.message}`);
      if (frame.op === null) return null;
      return frame.op === 'get' ? getErrno(frame.errno) : setErrno(frame.errno);
  }
}

/**
 * `wg` reads the errno of a set answer as a negative error code (wireguard-go writes
 * "errno=-22"; a positive number makes `wg set` print "Unknown error -22", checked with
 * wireguard-tools v1.0.20210914)...
 */
function setErrno(errno: number): string {
  return `errno=${errno === 0 ? 0 : -Math.abs(errno)}\n\n`;
}

/** ...but only accepts digits in a get answer: there a failure must be positive. */
function getErrno(errno: number): string {
  return `errno=${Math.abs(errno)}\n\n`;
}

/**
 * Binds under a umask of 077, as wireguard-go does, so the socket is never reachable by others:
 * Node binds a unix socket synchronously inside listen(), so the umask covers that call (and, for
 * that instant, any file another thread creates, which only gets stricter permissions).
 */
function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    server.once('listening', onListening);
    server.once('error', onError);
    const umask = process.umask(0o077);
    try {
      server.listen(path);
    } finally {
      process.umask(umask);
    }
  });
}

/** Throws unless `path` is a socket file that nothing accepts connections on (left by a crash). */
async function assertStale(path: string): Promise<void> {
  const stats = await lstat(path);
  if (!stats.isSocket()) throw new Error(`${path} exists and is not a socket; not replacing it`);
  return new Promise((resolve, reject) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      reject(new Error(`${path} is in use: another process is serving this interface`));
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') resolve();
      else reject(err);
    });
  });
}
