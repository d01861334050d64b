import { request } from 'node:http';
import { connect } from 'node:net';
import { parseJson, SchemaError } from '../control/schema.js';
import {
  type Event,
  errorBody,
  LOCALAPI_PREFIX,
  type OperationName,
  operations,
  type RequestOf,
  type ResponseOf,
} from './api.js';

/** What burrowd answered instead of a result, or why it could not be asked. */
export class LocalApiCallError extends Error {
  constructor(
    /** The HTTP status, or 0 when burrowd could not be reached. */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Unary = Exclude<OperationName, 'events'>;

/**
 * A LocalAPI client for the CLI and the desktop app: typed calls by operation name, with each
 * response checked against its schema (burrowd is trusted, but a mismatched version must be a
 * clear error, not a crash later). It is in src/ because both use it, and is src/'s only socket code.
 *
 * Each request opens its own connection (createConnection, no http.Agent): the agent's
 * bookkeeping, which validates a host name a unix socket does not have, is a fifth of a CLI
 * command's run (~4 ms), and burrowd checks each connection's credentials anyway.
 */
export class LocalApiClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 30_000,
  ) {}

  call<N extends Unary>(name: N, body: RequestOf<N>): Promise<ResponseOf<N>> {
    const op = operations[name];
    const payload = op.method === 'GET' ? '' : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          createConnection: () => connect(this.socketPath),
          method: op.method,
          path: `${LOCALAPI_PREFIX}${op.path}`,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              if (res.statusCode !== 200) {
                const { error } = parseJson(errorBody, text);
                return reject(new LocalApiCallError(res.statusCode ?? 0, error));
              }
              resolve(parseJson(op.response as never, text, 'response') as ResponseOf<N>);
            } catch (error) {
              const why = error instanceof SchemaError ? error.message : String(error);
              reject(new LocalApiCallError(res.statusCode ?? 0, `burrowd sent an unexpected answer: ${why}`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`burrowd did not answer within ${this.timeoutMs} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) => reject(unreachable(this.socketPath, error)));
      req.end(payload);
    });
  }

  /** Follows burrowd's events until the returned function is called or burrowd goes away. */
  events(onEvent: (event: Event) => void, onEnd: (error?: Error) => void): () => void {
    const req = request(
      {
        createConnection: () => connect(this.socketPath),
        method: 'GET',
        path: `${LOCALAPI_PREFIX}${operations.events.path}`,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return onEnd(new LocalApiCallError(res.statusCode ?? 0, 'burrowd refused the event stream'));
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            try {
              onEvent(parseJson(operations.events.response, line, 'event'));
            } catch (error) {
              req.destroy(error as Error);
              return;
            }
          }
        });
        res.on('end', () => onEnd());
        res.on('error', (e) => onEnd(e));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => onEnd(unreachable(this.socketPath, error)));
    req.end();
    return () => req.destroy();
  }
}

function unreachable(socketPath: string, error: NodeJS.ErrnoException): Error {
  if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')
    return new LocalApiCallError(0, `burrowd is not running (no LocalAPI at ${socketPath})`);
  if (error.code === 'EACCES') return new LocalApiCallError(0, `no permission to open ${socketPath}`);
  return new LocalApiCallError(0, error.message);
}
