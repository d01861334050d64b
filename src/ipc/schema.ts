/**
 * The desktop app's IPC, schema first: one table types the main process's handlers, the functions
 * the preload exposes, and the renderer's calls (and the web mode's HTTP API, which carries the
 * same calls). Every call is checked against its request schema where it arrives in main, and
 * every answer against its response schema; a channel not in the table cannot be called.
 *
 * Most calls are LocalAPI operations passed through to burrowd; the rest are things only the app
 * can do (the clipboard, opening the login page, installing the helper).
 */
import { boolean, type Infer, integer, literal, object, type Schema, string } from '../control/schema.js';
import { type Event, event, type OperationName, operations } from '../localapi/api.js';

/** Channels are `burrow:<name>`; events arrive on EVENT_CHANNEL. */
export const CHANNEL_PREFIX = 'burrow:';
export const EVENT_CHANNEL = 'burrow:event';

const empty = object({});

/** Why the app cannot talk to burrowd, for the UI to explain (and offer to install it). */
export const helperState = object({
  state: literal('running', 'not-running', 'not-installed', 'untrusted-socket'),
  socket: string({ max: 4096 }),
  /** In words, for the user. */
  detail: string({ max: 1024 }),
});
export type HelperState = Infer<typeof helperState>;

const appOperations = {
  /** Puts text (an address) on the clipboard. */
  copyText: { request: object({ text: string({ min: 1, max: 256 }) }), response: empty },
  /** Opens the control server's login page in the user's browser (http(s) only). */
  openLogin: {
    request: object({
      url: string({ min: 1, max: 2048, pattern: /^https?:\/\/[^\s]+$/, what: 'an http(s) URL' }),
    }),
    response: empty,
  },
  helperState: { request: empty, response: helperState },
  /** Installs burrowd with the fixed install script, after asking for the admin password. */
  installHelper: {
    request: empty,
    response: object({ installed: boolean, detail: string({ max: 1024 }) }),
  },
} as const;

type Unary = Exclude<OperationName, 'events'>;
type Passthrough = {
  [N in Unary]: { request: (typeof operations)[N]['request']; response: (typeof operations)[N]['response'] };
};

const passthrough = Object.fromEntries(
  (Object.keys(operations) as OperationName[])
    .filter((n): n is Unary => n !== 'events')
    .map((n) => [n, { request: operations[n].request, response: operations[n].response }]),
) as Passthrough;

export const ipcOperations = { ...passthrough, ...appOperations };
export type IpcOperations = typeof ipcOperations;
export type IpcName = keyof IpcOperations;
export type IpcRequest<N extends IpcName> = Infer<IpcOperations[N]['request']>;
export type IpcResponse<N extends IpcName> = Infer<IpcOperations[N]['response']>;

/** The calls main passes through to burrowd's LocalAPI (the others it does itself). */
export const localApiNames: ReadonlySet<string> = new Set(Object.keys(passthrough));

/** The API the renderer sees, whether the preload (Electron) or web mode provides it. */
export interface BurrowApi {
  call<N extends IpcName>(name: N, request: IpcRequest<N>): Promise<IpcResponse<N>>;
  /** Follows burrowd's events (state, netmap, invites); returns the unsubscribe function. */
  onEvent(listener: (event: Event) => void): () => void;
}

/** A refused call, as the renderer receives it: burrowd's (or main's) reason and HTTP-like status. */
export const ipcError = object({ error: string({ max: 4096 }), status: integer({ min: 0, max: 599 }) });
export type IpcError = Infer<typeof ipcError>;

/** burrowd's events, passed on to the renderer as they are (checked again where they arrive). */
export const eventSchema: Schema<Event> = event;
