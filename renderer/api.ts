/**
 * The UI's one way to burrowd: the preload's `window.burrow` in Electron, else web mode over HTTP.
 * Whichever it is, it is treated as untrusted: every request is checked before it leaves (so a bad
 * form value fails here, with the field named), every answer and event where it arrives.
 */

import {
  type BurrowApi,
  eventSchema,
  type IpcName,
  type IpcRequest,
  type IpcResponse,
  ipcOperations,
} from '../src/ipc/schema.js';
import type { Event } from '../src/localapi/api.js';
import { BurrowError, type ProblemReporter, toBurrowError } from './burrow-error.js';
import { browserWebApi } from './web-api.js';

/** An API as it arrives, before any of its answers are trusted. */
export interface RawApi {
  call(name: string, request: unknown): Promise<unknown>;
  onEvent(listener: (event: unknown) => void): () => void;
}

/** Wraps a raw API so that only schema-valid requests, answers and events pass. */
export function validatedApi(raw: RawApi, report: ProblemReporter): BurrowApi {
  return {
    async call<N extends IpcName>(name: N, request: IpcRequest<N>): Promise<IpcResponse<N>> {
      const operation = ipcOperations[name];
      try {
        operation.request.parse(request, name);
      } catch (error) {
        throw new BurrowError((error as Error).message, 400);
      }
      let answer: unknown;
      try {
        answer = await raw.call(name, request);
      } catch (error) {
        throw toBurrowError(error);
      }
      try {
        return operation.response.parse(answer, name) as IpcResponse<N>;
      } catch (error) {
        throw new BurrowError(`malformed answer: ${(error as Error).message}`, 502);
      }
    },
    onEvent(listener: (event: Event) => void): () => void {
      return raw.onEvent((value) => {
        let event: Event;
        try {
          event = eventSchema.parse(value, 'event');
        } catch (error) {
          report(new BurrowError(`ignored a malformed event: ${(error as Error).message}`, 502));
          return;
        }
        listener(event);
      });
    },
  };
}

declare global {
  interface Window {
    /** Set by the Electron preload; absent in web mode. */
    burrow?: unknown;
  }
}

const isRawApi = (value: unknown): value is RawApi =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as RawApi).call === 'function' &&
  typeof (value as RawApi).onEvent === 'function';

/** The preload's API when there is one (Electron), else web mode's. */
export function pickApi(report: ProblemReporter): BurrowApi {
  const raw = isRawApi(window.burrow) ? window.burrow : browserWebApi(report);
  return validatedApi(raw, report);
}
