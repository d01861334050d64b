/**
 * What a click in the tray menu does (the actions of tray-menu.ts), against the broker and a few
 * desktop effects, so that it runs under Node in tests. A refusal from burrowd becomes a
 * notification: the tray has nowhere else to show it.
 */
import { traceHash } from '../src/ipc/open-view.js';
import type { Broker } from './broker.js';
import type { TrayAction } from './tray-menu.js';

export interface TrayEffects {
  call: Broker['call'];
  copyText(text: string): void;
  notify(title: string, body: string): void;
  openExternal(url: string): void;
  /** Opens the window, or brings it to the front; on `view` (a fragment: src/ipc/open-view.ts). */
  showWindow(view?: string): void;
  quit(): void;
}

export async function runTrayAction(action: TrayAction, fx: TrayEffects): Promise<void> {
  const call = async (name: string, request: unknown): Promise<unknown> => {
    const reply = await fx.call(name, request);
    if (reply.ok) return reply.response;
    fx.notify('Burrow', reply.error.error);
    return null;
  };
  switch (action.kind) {
    case 'copy':
      fx.copyText(action.text);
      fx.notify(`Copied ${action.text}`, action.what);
      return;
    case 'setExitNode':
      await call('setPrefs', { exitNode: action.id });
      return;
    case 'setPref':
      await call('setPrefs', { [action.pref]: action.value });
      return;
    case 'acceptInvite':
      await call('acceptShare', { ref: action.id });
      return;
    case 'declineInvite':
      await call('declineShare', { id: action.id });
      return;
    case 'connect': {
      const result = (await call('up', {})) as { authUrl: string | null } | null;
      if (result?.authUrl) fx.openExternal(result.authUrl);
      return;
    }
    case 'disconnect':
      await call('down', {});
      return;
    case 'installHelper': {
      const result = (await call('installHelper', {})) as { detail: string } | null;
      if (result) fx.notify('Burrow', result.detail);
      return;
    }
    case 'openWindow':
      fx.showWindow();
      return;
    case 'openTrace':
      fx.showWindow(traceHash(action.target));
      return;
    case 'quit':
      fx.quit();
      return;
  }
}
