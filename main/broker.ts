/**
 * The core of the app's main process, free of Electron so that it runs (and is tested) under Node:
 * every call from the UI, whether it came over Electron IPC or web mode's HTTP, arrives here by
 * name with an untrusted request. The name must be in the IPC table and the request must match its
 * schema before anything happens; LocalAPI calls then go to burrowd, app calls to the platform
 * (the clipboard, the browser, the installer), and every answer is checked against its schema.
 * Refusals come back as `{ error, status }`, never as exceptions, so both transports relay them
 * the same way.
 *
 * The broker also follows burrowd's event stream and fans it out, reconnecting with backoff when
 * burrowd goes away, and never connects to a socket that is not owned by root (helper-state.ts).
 */

import { SchemaError } from '../src/control/schema.js';
import {
  type HelperState,
  type IpcError,
  type IpcName,
  type IpcRequest,
  type IpcResponse,
  ipcOperations,
  localApiNames,
} from '../src/ipc/schema.js';
import { type Event, MAX_BODY, type OperationName } from '../src/localapi/api.js';
import { LocalApiCallError, LocalApiClient } from '../src/localapi/client.js';
import { checkSocket, INSTALLED_PATHS, probeHelper } from './helper-state.js';

export type InstallResult = IpcResponse<'installHelper'>;

/** What an app call needs from its environment (Electron, or web mode's server). */
export interface AppPlatform {
  copyText(text: string): void | Promise<void>;
  /** Opens an http(s) URL (already checked against the schema) in the user's browser. */
  openExternal(url: string): void | Promise<void>;
  installHelper(): Promise<InstallResult>;
}

export type BrokerReply = { ok: true; response: unknown } | { ok: false; error: IpcError };

export interface Broker {
  /** Handles one call from the UI; never rejects. */
  call(name: string, request: unknown): Promise<BrokerReply>;
  /**
   * Follows burrowd's events; the latest state, netmap and invites are replayed at once. While
   * burrowd cannot be reached, the state is a synthetic `stopped` (the UI then asks helperState).
   */
  subscribe(listener: (event: Event) => void): () => void;
  helperState(): Promise<HelperState>;
  close(): void;
}

export interface BrokerOptions {
  socketPath: string;
  platform: AppPlatform;
  /** The uid that must own the socket: root (0), except when developing against your own burrowd. */
  socketOwner?: number;
  installedPaths?: readonly string[];
  /** Reconnect delays for the event stream, doubling from minMs up to maxMs. */
  reconnect?: { minMs: number; maxMs: number };
  log?: (message: string) => void;
}

type LocalName = Exclude<OperationName, 'events'>;
type AppName = Exclude<IpcName, LocalName>;

/** Sent while burrowd is unreachable: the event schema has no "not running", and stopped is true. */
const UNREACHABLE: Event = { type: 'state', backendState: 'stopped', authUrl: null };

const fail = (status: number, error: string): BrokerReply => ({
  ok: false,
  error: { error: error.slice(0, 4096), status: Math.min(Math.max(Math.trunc(status), 0), 599) },
});

export function createBroker(options: BrokerOptions): Broker {
  const owner = options.socketOwner ?? 0;
  const client = new LocalApiClient(options.socketPath);
  const { minMs, maxMs } = options.reconnect ?? { minMs: 250, maxMs: 5000 };
  const log = options.log ?? (() => undefined);
  const helperState = () =>
    probeHelper({ client, owner, installedPaths: options.installedPaths ?? INSTALLED_PATHS });

  // --- events ---
  const listeners = new Set<(event: Event) => void>();
  const latest = new Map<Event['type'], Event>();
  let closed = false;
  let up: boolean | null = null; // null until the first attempt: the first failure is news too
  let stopStream: (() => void) | null = null;
  let timer: NodeJS.Timeout | undefined;
  let delay = minMs;

  const emit = (event: Event) => {
    latest.set(event.type, event);
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        log(`broker: an event listener failed: ${(error as Error).message}`);
      }
    }
  };
  const down = (why: string) => {
    if (up !== false) {
      log(`broker: burrowd unreachable: ${why}`);
      latest.clear();
      emit(UNREACHABLE);
    }
    up = false;
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, maxMs);
  };
  const connect = async () => {
    timer = undefined;
    const trust = await checkSocket(options.socketPath, owner);
    if (closed) return;
    if (trust.kind !== 'trusted') return down(trust.detail);
    let ended = false;
    stopStream = client.events(
      (event) => {
        if (!up) log('broker: following burrowd');
        up = true;
        delay = minMs;
        emit(event);
      },
      (error) => {
        if (ended || closed) return;
        ended = true;
        stopStream = null;
        down(error?.message ?? 'the event stream ended');
      },
    );
  };
  /** Reconnects now rather than after the backoff (burrowd was just installed). */
  const kick = () => {
    if (timer === undefined || closed) return;
    clearTimeout(timer);
    delay = minMs;
    void connect();
  };
  void connect();

  // --- calls ---
  let installing: Promise<InstallResult> | null = null;
  const appCalls: { [N in AppName]: (request: IpcRequest<N>) => Promise<IpcResponse<N>> } = {
    copyText: async ({ text }) => {
      await options.platform.copyText(text);
      return {};
    },
    openLogin: async ({ url }) => {
      await options.platform.openExternal(url);
      return {};
    },
    helperState: () => helperState(),
    installHelper: () => {
      // One password prompt at a time: a second click waits for the first.
      installing ??= options.platform.installHelper().finally(() => {
        installing = null;
      });
      return installing.then((result) => {
        if (result.installed) kick();
        return result;
      });
    },
  };

  const passThrough = async (name: LocalName, request: unknown): Promise<unknown> => {
    const trust = await checkSocket(options.socketPath, owner);
    if (trust.kind !== 'trusted') throw new LocalApiCallError(0, trust.detail);
    return client.call(name, request as never);
  };

  const call = async (name: string, request: unknown): Promise<BrokerReply> => {
    if (typeof name !== 'string' || !Object.hasOwn(ipcOperations, name))
      return fail(404, `unknown call ${JSON.stringify(String(name).slice(0, 64))}`);
    const op = ipcOperations[name as IpcName];
    const body = request === undefined ? {} : request;
    let size: number;
    try {
      size = Buffer.byteLength(JSON.stringify(body) ?? '');
    } catch {
      return fail(400, 'request: not representable as JSON');
    }
    if (size > MAX_BODY) return fail(413, `request: over ${MAX_BODY} bytes`);
    let parsed: unknown;
    try {
      parsed = op.request.parse(body, 'request');
    } catch (error) {
      if (error instanceof SchemaError) return fail(400, error.message);
      throw error;
    }
    try {
      const response = localApiNames.has(name)
        ? await passThrough(name as LocalName, parsed)
        : await (appCalls[name as AppName] as (r: unknown) => Promise<unknown>)(parsed);
      return { ok: true, response: op.response.parse(response, 'response') };
    } catch (error) {
      if (error instanceof LocalApiCallError) return fail(error.status, error.message);
      log(`broker: ${name} failed: ${(error as Error).stack ?? String(error)}`);
      return fail(500, `${name} failed: ${(error as Error).message}`);
    }
  };

  return {
    call,
    subscribe(listener) {
      listeners.add(listener);
      for (const event of latest.values()) listener(event);
      return () => listeners.delete(listener);
    },
    helperState,
    close() {
      closed = true;
      clearTimeout(timer);
      stopStream?.();
      listeners.clear();
    },
  };
}
