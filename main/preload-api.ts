/**
 * What the preload exposes to the page as `window.burrow` (the BurrowApi), built from an
 * ipcRenderer so that it can be tested under Node. It is closed: two functions, no ipcRenderer, no
 * event objects (an IpcRendererEvent would hand the page the ipcRenderer). A name outside the IPC
 * table is refused before anything is sent; a refusal rejects with the IpcError `{ error, status }`
 * (web mode's client rejects with the same shape).
 */
import {
  type BurrowApi,
  CHANNEL_PREFIX,
  EVENT_CHANNEL,
  eventSchema,
  type IpcError,
  type IpcName,
  ipcError,
  ipcOperations,
} from '../src/ipc/schema.js';
import type { Event } from '../src/localapi/api.js';

/** The part of Electron's ipcRenderer the API uses (Electron's own satisfies it). */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export function isIpcName(name: unknown): name is IpcName {
  return typeof name === 'string' && Object.hasOwn(ipcOperations, name);
}

/** The broker's reply (main/broker.ts BrokerReply), unwrapped: the response, or a thrown IpcError. */
function unwrap(reply: unknown): unknown {
  const r = reply as { ok?: unknown; response?: unknown; error?: unknown } | null;
  if (r?.ok === true) return r.response;
  let error: IpcError;
  try {
    error = ipcError.parse(r?.error);
  } catch {
    error = { error: 'the app sent a malformed reply', status: 500 };
  }
  throw error;
}

export function createBurrowApi(ipc: IpcRendererLike): BurrowApi {
  return {
    call: async (name, request) => {
      if (!isIpcName(name)) {
        const refusal: IpcError = {
          error: `unknown call ${JSON.stringify(String(name).slice(0, 64))}`,
          status: 404,
        };
        throw refusal;
      }
      return unwrap(await ipc.invoke(CHANNEL_PREFIX + name, request)) as never;
    },
    onEvent: (listener: (event: Event) => void) => {
      const relay = (_event: unknown, payload: unknown) => {
        let event: Event;
        try {
          event = eventSchema.parse(payload, 'event');
        } catch {
          return; // main only relays burrowd's checked events; anything else is dropped
        }
        listener(event);
      };
      ipc.on(EVENT_CHANNEL, relay);
      return () => {
        ipc.removeListener(EVENT_CHANNEL, relay);
      };
    },
  };
}
