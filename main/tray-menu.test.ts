import { describe, expect, it } from 'vitest';
import type { Status } from '../src/localapi/api.js';
import { PREFS, peer, SHARES, STATUS } from '../test/support/memory-localapi.js';
import {
  applyEvent,
  INITIAL_TRAY_STATE,
  statusLine,
  type TrayItem,
  type TrayState,
  trayIcon,
  trayMenu,
} from './tray-menu.js';

const connected: TrayState = {
  helper: 'running',
  backendState: 'running',
  status: STATUS,
  prefs: PREFS,
  shares: { incoming: [], outgoing: [], accepted: [] },
};
const disconnected: TrayState = {
  ...connected,
  backendState: 'stopped',
  status: { ...STATUS, backendState: 'stopped' },
};

/** The menu as lines: "-" for a separator, [x]/[ ] for checked, (disabled) and submenus indented. */
function outline(items: TrayItem[], indent = ''): string[] {
  return items.flatMap((item) => {
    if (item.type === 'separator') return [`${indent}-`];
    const mark = item.type === 'checkbox' || item.type === 'radio' ? (item.checked ? '[x] ' : '[ ] ') : '';
    const line = `${indent}${mark}${item.label}${item.enabled ? '' : ' (disabled)'}`;
    return [line, ...(item.submenu ? outline(item.submenu, `${indent}  `) : [])];
  });
}

const find = (items: TrayItem[], label: string): TrayItem => {
  const found = items.find((i) => i.label === label);
  if (!found) throw new Error(`no item "${label}" in ${JSON.stringify(items.map((i) => i.label))}`);
  return found;
};

describe('tray menu', () => {
  it('while disconnected', () => {
    const menu = trayMenu(disconnected);
    expect(outline(menu)).toEqual([
      'Disconnected (disabled)',
      '-',
      'This device: laptop (100.64.0.1)',
      '  Copy name (laptop.alice.burrow.internal)',
      '  Copy IP (100.64.0.1)',
      'Devices',
      '  ● bobs-pi  100.64.0.5  (shared)',
      '    Copy name (bobs-pi.bob.burrow.internal)',
      '    Copy IP (100.64.0.5)',
      '  ● desktop  100.64.0.2',
      '    Copy name (desktop.alice.burrow.internal)',
      '    Copy IP (100.64.0.2)',
      '  ● exit-nyc  100.64.0.4',
      '    Copy name (exit-nyc.alice.burrow.internal)',
      '    Copy IP (100.64.0.4)',
      '  ○ nas  100.64.0.3',
      '    Copy name (nas.alice.burrow.internal)',
      '    Copy IP (100.64.0.3)',
      'Why can’t I reach…',
      'Exit node',
      '  [x] None',
      '  [ ] exit-nyc',
      '  -',
      '  [ ] Allow local network access',
      '  [ ] Run as exit node',
      '[ ] Shields Up',
      '-',
      'Connect',
      'Open Burrow',
      '-',
      'Quit Burrow',
    ]);
    expect(find(menu, 'Connect').action).toEqual({ kind: 'connect' });
    expect(find(menu, 'Quit Burrow').action).toEqual({ kind: 'quit' });
    expect(find(menu, 'Open Burrow').action).toEqual({ kind: 'openWindow' });
    // The Devices screen's "Why can't I reach…": the window opens on the journey view.
    expect(find(menu, 'Why can’t I reach…').action).toEqual({ kind: 'openTrace', target: null });
    expect(trayIcon(disconnected)).toBe('disconnected');
  });

  it('while connected with peers: copy actions, toggles and Disconnect', () => {
    const menu = trayMenu(connected);
    expect(statusLine(connected)).toBe('Connected');
    expect(menu[0]).toEqual({ type: 'normal', label: 'Connected', enabled: false, checked: false });
    expect(find(menu, 'This device: laptop (100.64.0.1)').submenu!.map((i) => i.action)).toEqual([
      { kind: 'copy', text: 'laptop.alice.burrow.internal', what: 'laptop' },
      { kind: 'copy', text: '100.64.0.1', what: 'laptop' },
    ]);
    const devices = find(menu, 'Devices');
    expect(devices.type).toBe('submenu');
    expect(devices.submenu!.map((i) => i.type)).toEqual(['submenu', 'submenu', 'submenu', 'submenu']);
    // Each peer's Copy name copies its full name (which resolves on every device), Copy IP its 100.x.
    expect(devices.submenu!.map((i) => i.submenu!.map((c) => c.action))).toEqual([
      [
        { kind: 'copy', text: 'bobs-pi.bob.burrow.internal', what: 'bobs-pi' },
        { kind: 'copy', text: '100.64.0.5', what: 'bobs-pi' },
      ],
      [
        { kind: 'copy', text: 'desktop.alice.burrow.internal', what: 'desktop' },
        { kind: 'copy', text: '100.64.0.2', what: 'desktop' },
      ],
      [
        { kind: 'copy', text: 'exit-nyc.alice.burrow.internal', what: 'exit-nyc' },
        { kind: 'copy', text: '100.64.0.4', what: 'exit-nyc' },
      ],
      [
        { kind: 'copy', text: 'nas.alice.burrow.internal', what: 'nas' },
        { kind: 'copy', text: '100.64.0.3', what: 'nas' },
      ],
    ]);
    const exit = find(menu, 'Exit node').submenu!;
    expect(find(exit, 'None')).toMatchObject({
      type: 'radio',
      checked: true,
      action: { kind: 'setExitNode', id: null },
    });
    expect(find(exit, 'exit-nyc')).toMatchObject({
      type: 'radio',
      enabled: true,
      checked: false,
      action: { kind: 'setExitNode', id: 'p4' },
    });
    expect(find(exit, 'Allow local network access')).toMatchObject({
      type: 'checkbox',
      enabled: true,
      checked: false,
      action: { kind: 'setPref', pref: 'exitNodeAllowLanAccess', value: true },
    });
    expect(find(exit, 'Run as exit node').action).toEqual({
      kind: 'setPref',
      pref: 'advertiseExitNode',
      value: true,
    });
    expect(find(menu, 'Shields Up')).toMatchObject({
      type: 'checkbox',
      checked: false,
      action: { kind: 'setPref', pref: 'shieldsUp', value: true },
    });
    expect(find(menu, 'Disconnect').action).toEqual({ kind: 'disconnect' });
    expect(menu.some((i) => i.label === 'Connect')).toBe(false);
    expect(trayIcon(connected)).toBe('connected');

    const shielded = trayMenu({ ...connected, status: { ...STATUS, shieldsUp: true } });
    expect(find(shielded, 'Shields Up')).toMatchObject({
      checked: true,
      action: { kind: 'setPref', pref: 'shieldsUp', value: false },
    });
  });

  it('shows collision-suffixed names as the status gives them, and a device without an address', () => {
    const status: Status = {
      ...STATUS,
      peers: [
        ...STATUS.peers,
        peer('p7', 'nas', '100.64.0.7', {
          shared: true,
          user: 'carol',
          shortName: 'nas-carol',
          dnsName: 'nas.carol.burrow.internal',
          exitNodeOption: true,
        }),
        peer('p8', 'fresh', '100.64.0.8', { ips: [] }),
      ],
      exitNode: 'p7',
    };
    const menu = trayMenu({ ...connected, status, prefs: { ...PREFS, exitNode: 'p7' } });
    const devices = outline(find(menu, 'Devices').submenu!);
    expect(devices.slice(devices.indexOf('● fresh'))).toEqual([
      '● fresh',
      '  Copy name (fresh.alice.burrow.internal)',
      '○ nas  100.64.0.3',
      '  Copy name (nas.alice.burrow.internal)',
      '  Copy IP (100.64.0.3)',
      '● nas-carol  100.64.0.7  (shared)',
      '  Copy name (nas.carol.burrow.internal)',
      '  Copy IP (100.64.0.7)',
    ]);
    expect(statusLine({ ...connected, status })).toBe('Connected via nas-carol');
    expect(outline(find(menu, 'Exit node').submenu!).slice(0, 3)).toEqual([
      '[ ] None',
      '[ ] exit-nyc',
      '[x] nas-carol',
    ]);
  });

  it('with invites pending: Accept and Decline for each, before Connect', () => {
    const state: TrayState = {
      ...connected,
      shares: {
        ...SHARES,
        incoming: [
          ...SHARES.incoming,
          { ...SHARES.incoming[0]!, id: 'inv2', owner: 'carol', device: 'carols-nas' },
          { ...SHARES.incoming[0]!, id: 'inv3', state: 'declined' },
        ],
      },
    };
    const lines = outline(trayMenu(state));
    expect(lines.slice(lines.indexOf('[ ] Shields Up'))).toEqual([
      '[ ] Shields Up',
      '-',
      'Share invites (disabled)',
      'bob shares bobs-printer',
      '  Accept',
      '  Decline',
      'carol shares carols-nas',
      '  Accept',
      '  Decline',
      '-',
      'Disconnect',
      'Open Burrow',
      '-',
      'Quit Burrow',
    ]);
    const invite = find(trayMenu(state), 'carol shares carols-nas');
    expect(invite.submenu!.map((i) => i.action)).toEqual([
      { kind: 'acceptInvite', id: 'inv2' },
      { kind: 'declineInvite', id: 'inv2' },
    ]);
  });

  it('with an exit node chosen', () => {
    const status: Status = { ...STATUS, exitNode: 'p4' };
    const state: TrayState = {
      ...connected,
      status,
      prefs: { ...PREFS, exitNode: 'p4', exitNodeAllowLanAccess: true },
    };
    expect(statusLine(state)).toBe('Connected via exit-nyc');
    expect(trayIcon(state)).toBe('exit-node');
    const exit = find(trayMenu(state), 'Exit node').submenu!;
    expect(outline(exit)).toEqual([
      '[ ] None',
      '[x] exit-nyc',
      '-',
      '[x] Allow local network access',
      '[ ] Run as exit node',
    ]);
    expect(find(exit, 'Allow local network access').action).toEqual({
      kind: 'setPref',
      pref: 'exitNodeAllowLanAccess',
      value: false,
    });
  });

  it('greys an offline exit node, and shows a chosen one that is gone (traffic is blocked)', () => {
    const offline = {
      ...STATUS,
      peers: [...STATUS.peers, peer('p6', 'exit-ams', '100.64.0.6', { exitNodeOption: true, online: false })],
    };
    const menu = trayMenu({ ...connected, status: offline, prefs: { ...PREFS, exitNode: 'p9' } });
    const exit = find(menu, 'Exit node').submenu!;
    expect(outline(exit).slice(0, 4)).toEqual([
      '[ ] None',
      '[ ] exit-ams (offline) (disabled)',
      '[ ] exit-nyc',
      '[x] p9 (not available) (disabled)',
    ]);
  });

  it('without burrowd: says why, and offers the install when it is missing', () => {
    const notRunning: TrayState = { ...connected, helper: 'not-running', backendState: 'stopped' };
    expect(outline(trayMenu(notRunning))).toEqual([
      'burrowd is not running (disabled)',
      '-',
      'Connect (disabled)',
      'Open Burrow',
      '-',
      'Quit Burrow',
    ]);
    expect(trayIcon(notRunning)).toBe('disconnected');
    const missing = trayMenu({ ...INITIAL_TRAY_STATE, helper: 'not-installed' });
    expect(outline(missing)).toEqual([
      'burrowd is not installed (disabled)',
      '-',
      'Install burrowd…',
      'Open Burrow',
      '-',
      'Quit Burrow',
    ]);
    expect(find(missing, 'Install burrowd…').action).toEqual({ kind: 'installHelper' });
    expect(statusLine({ ...INITIAL_TRAY_STATE, helper: 'untrusted-socket' })).toBe(
      'Refused an untrusted burrowd socket',
    );
    expect(find(trayMenu({ ...disconnected, backendState: 'needs-login' }), 'Log in…').action).toEqual({
      kind: 'connect',
    });
  });

  it('follows events', () => {
    let state = applyEvent(INITIAL_TRAY_STATE, { type: 'state', backendState: 'starting', authUrl: null });
    expect(statusLine(state)).toBe('Connecting…');
    state = applyEvent(state, { type: 'netmap', status: STATUS });
    expect(state).toMatchObject({ backendState: 'running', status: STATUS });
    state = applyEvent(state, { type: 'invites', shares: SHARES });
    expect(state.shares).toBe(SHARES);
    expect(trayMenu(state).some((i) => i.label === 'bob shares bobs-printer')).toBe(true);
  });
});
