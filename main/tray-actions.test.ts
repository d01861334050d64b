import { describe, expect, it, vi } from 'vitest';
import type { BrokerReply } from './broker.js';
import { runTrayAction, type TrayEffects } from './tray-actions.js';

function effects(reply: BrokerReply = { ok: true, response: {} }) {
  return {
    call: vi.fn(async () => reply),
    copyText: vi.fn(),
    notify: vi.fn(),
    openExternal: vi.fn(),
    showWindow: vi.fn(),
    quit: vi.fn(),
  } satisfies TrayEffects;
}

describe('tray actions', () => {
  it.each(['100.64.0.2', 'desktop.alice.burrow.internal'])('copies %s and says so', async (text) => {
    const fx = effects();
    await runTrayAction({ kind: 'copy', text, what: 'desktop' }, fx);
    expect(fx.copyText).toHaveBeenCalledWith(text);
    expect(fx.notify).toHaveBeenCalledWith(`Copied ${text}`, 'desktop');
  });

  it.each([
    [{ kind: 'setExitNode', id: 'p4' }, 'setPrefs', { exitNode: 'p4' }],
    [{ kind: 'setExitNode', id: null }, 'setPrefs', { exitNode: null }],
    [{ kind: 'setPref', pref: 'shieldsUp', value: true }, 'setPrefs', { shieldsUp: true }],
    [
      { kind: 'setPref', pref: 'exitNodeAllowLanAccess', value: false },
      'setPrefs',
      { exitNodeAllowLanAccess: false },
    ],
    [{ kind: 'acceptInvite', id: 'inv1' }, 'acceptShare', { ref: 'inv1' }],
    [{ kind: 'declineInvite', id: 'inv1' }, 'declineShare', { id: 'inv1' }],
    [{ kind: 'disconnect' }, 'down', {}],
  ] as const)('%o calls %s', async (action, name, request) => {
    const fx = effects();
    await runTrayAction(action, fx);
    expect(fx.call).toHaveBeenCalledWith(name, request);
    expect(fx.notify).not.toHaveBeenCalled();
  });

  it("connects, opening the login page when burrowd asks for one, and shows burrowd's refusals", async () => {
    const fx = effects({
      ok: true,
      response: { backendState: 'needs-login', authUrl: 'https://b.example/a' },
    });
    await runTrayAction({ kind: 'connect' }, fx);
    expect(fx.call).toHaveBeenCalledWith('up', {});
    expect(fx.openExternal).toHaveBeenCalledWith('https://b.example/a');
    const refused = effects({ ok: false, error: { error: 'no peer "p9"', status: 404 } });
    await runTrayAction({ kind: 'setExitNode', id: 'p9' }, refused);
    expect(refused.notify).toHaveBeenCalledWith('Burrow', 'no peer "p9"');
  });

  it('installs, opens the window and quits', async () => {
    const fx = effects({ ok: true, response: { installed: false, detail: 'Installation cancelled.' } });
    await runTrayAction({ kind: 'installHelper' }, fx);
    expect(fx.call).toHaveBeenCalledWith('installHelper', {});
    expect(fx.notify).toHaveBeenCalledWith('Burrow', 'Installation cancelled.');
    await runTrayAction({ kind: 'openWindow' }, fx);
    await runTrayAction({ kind: 'quit' }, fx);
    expect(fx.showWindow).toHaveBeenCalledTimes(1);
    expect(fx.quit).toHaveBeenCalledTimes(1);
  });

  it('"Why can’t I reach…" opens the window on the journey view, empty or on a device', async () => {
    const fx = effects();
    await runTrayAction({ kind: 'openTrace', target: null }, fx);
    await runTrayAction({ kind: 'openTrace', target: 'nas-carol' }, fx);
    expect(fx.showWindow.mock.calls).toEqual([['trace'], ['trace=nas-carol']]);
    expect(fx.call).not.toHaveBeenCalled();
  });
});
