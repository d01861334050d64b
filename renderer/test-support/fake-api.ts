/** An in-memory BurrowApi for store tests: answers from a table of handlers, events on demand. */
import type { BurrowApi, IpcName, IpcRequest, IpcResponse } from '../../src/ipc/schema.js';
import type { Event } from '../../src/localapi/api.js';
import { sampleTrace } from '../../test/support/sample-traces.js';
import { HELPER_RUNNING, NOW, PREFS, SHARES, STATUS } from './fixtures.js';

export type Handlers = {
  [N in IpcName]?: (request: IpcRequest<N>) => IpcResponse<N> | Promise<IpcResponse<N>>;
};

export interface FakeApi extends BurrowApi {
  calls: { name: IpcName; request: unknown }[];
  emit(event: Event): void;
  listeners: number;
}

/** A healthy burrowd unless `handlers` says otherwise (a handler may throw to refuse). */
export function fakeApi(handlers: Handlers = {}): FakeApi {
  const defaults: Handlers = {
    helperState: () => HELPER_RUNNING,
    status: () => STATUS,
    getPrefs: () => PREFS,
    listShares: () => SHARES,
    trace: (request) => sampleTrace(request, STATUS, NOW),
  };
  const table = { ...defaults, ...handlers } as Record<string, (request: unknown) => unknown>;
  const listeners = new Set<(event: Event) => void>();
  const api: FakeApi = {
    calls: [],
    get listeners() {
      return listeners.size;
    },
    async call<N extends IpcName>(name: N, request: IpcRequest<N>) {
      api.calls.push({ name, request });
      const handler = table[name];
      if (!handler) throw { error: `no handler for ${name}`, status: 501 };
      return (await handler(request)) as IpcResponse<N>;
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(event) {
      for (const l of listeners) l(event);
    },
  };
  return api;
}
