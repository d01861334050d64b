/**
 * The tray: its state (what burrowd last said), and its menu and icon as pure functions of that
 * state. The menu is a serialisable template of our own, not Electron's type, so that every state
 * can be checked in tests; the Electron facade turns it into a Menu and runs the actions
 * (tray-actions.ts).
 */
import type { HelperState } from '../src/ipc/schema.js';
import type { BackendState, Event, PeerStatus, Prefs, ShareList, Status } from '../src/localapi/api.js';
import type { IconKind } from './tray-icons.js';

export type TrayAction =
  | { kind: 'copy'; text: string /** What was copied, for the notification. */; what: string }
  | { kind: 'setExitNode'; id: string | null }
  | { kind: 'setPref'; pref: 'exitNodeAllowLanAccess' | 'advertiseExitNode' | 'shieldsUp'; value: boolean }
  | { kind: 'acceptInvite'; id: string }
  | { kind: 'declineInvite'; id: string }
  | { kind: 'connect' }
  | { kind: 'disconnect' }
  | { kind: 'installHelper' }
  | { kind: 'openWindow' }
  /** Opens the window on the journey view (`burrow trace`): on a target, or empty to type one. */
  | { kind: 'openTrace'; target: string | null }
  | { kind: 'quit' };

export interface TrayItem {
  type: 'normal' | 'separator' | 'checkbox' | 'radio' | 'submenu';
  label: string;
  enabled: boolean;
  checked: boolean;
  submenu?: TrayItem[];
  action?: TrayAction;
}

export interface TrayState {
  /** null until asked. */
  helper: HelperState['state'] | null;
  backendState: BackendState;
  status: Status | null;
  prefs: Prefs | null;
  shares: ShareList | null;
}

export const INITIAL_TRAY_STATE: TrayState = {
  helper: null,
  backendState: 'stopped',
  status: null,
  prefs: null,
  shares: null,
};

export function applyEvent(state: TrayState, event: Event): TrayState {
  switch (event.type) {
    case 'state':
      return { ...state, backendState: event.backendState };
    case 'netmap':
      return { ...state, status: event.status, backendState: event.status.backendState };
    case 'invites':
      return { ...state, shares: event.shares };
  }
}

const usable = (state: TrayState) => state.helper === 'running' || state.helper === null;

export function trayIcon(state: TrayState): IconKind {
  if (!usable(state) || state.backendState !== 'running') return 'disconnected';
  return state.status?.exitNode ? 'exit-node' : 'connected';
}

/** The 100.x address to show and copy: the IPv4 one if there is one. */
const addressOf = (ips: readonly string[]) => ips.find((ip) => !ip.includes(':')) ?? ips[0];

const exitNodeName = (state: TrayState, id: string) =>
  state.status?.peers.find((p) => p.id === id)?.shortName ?? id;

export function statusLine(state: TrayState): string {
  switch (state.helper) {
    case 'not-installed':
      return 'burrowd is not installed';
    case 'not-running':
      return 'burrowd is not running';
    case 'untrusted-socket':
      return 'Refused an untrusted burrowd socket';
    default:
      break;
  }
  switch (state.backendState) {
    case 'stopped':
      return 'Disconnected';
    case 'needs-login':
      return 'Logged out';
    case 'starting':
      return 'Connecting…';
    case 'running': {
      const exit = state.status?.exitNode;
      return exit ? `Connected via ${exitNodeName(state, exit)}` : 'Connected';
    }
  }
}

/** The window's "Why can't I reach…" field, in the tray: it opens the window on the journey view. */
export const WHY = 'Why can’t I reach…';

const SEPARATOR: TrayItem = { type: 'separator', label: '', enabled: true, checked: false };
const label = (text: string): TrayItem => ({ type: 'normal', label: text, enabled: false, checked: false });
const item = (text: string, action: TrayAction, enabled = true): TrayItem => ({
  type: 'normal',
  label: text,
  enabled,
  checked: false,
  action,
});
const toggle = (
  type: 'checkbox' | 'radio',
  text: string,
  checked: boolean,
  action: TrayAction,
  enabled: boolean,
): TrayItem => ({
  type,
  label: text,
  enabled,
  checked,
  action,
});
const submenu = (text: string, items: TrayItem[], enabled = true): TrayItem => ({
  type: 'submenu',
  label: text,
  enabled,
  checked: false,
  submenu: items,
});

/**
 * Copy name, then Copy IP. The name copied is the full one (`nas.carol.burrow.internal`): it
 * resolves as it is on every device that may see this one, where the short name is this device's
 * view alone (a shared `nas` is `nas-carol` only beside our own `nas`).
 */
function copyItems(shortName: string, dnsName: string, address: string | undefined): TrayItem[] {
  return [
    item(`Copy name (${dnsName})`, { kind: 'copy', text: dnsName, what: shortName }),
    ...(address ? [item(`Copy IP (${address})`, { kind: 'copy', text: address, what: shortName })] : []),
  ];
}

/** A peer by its short name (as `burrow status` and the window show it), its copy actions inside. */
function peerItem(peer: PeerStatus): TrayItem {
  const address = addressOf(peer.ips);
  const text = `${peer.online ? '●' : '○'} ${peer.shortName}${address ? `  ${address}` : ''}${peer.shared ? '  (shared)' : ''}`;
  return submenu(text, copyItems(peer.shortName, peer.dnsName, address));
}

function exitNodeMenu(state: TrayState, status: Status, live: boolean): TrayItem[] {
  const chosen = state.prefs ? state.prefs.exitNode : status.exitNode;
  const options = status.peers.filter((p) => p.exitNodeOption).sort(byName);
  const items = [
    toggle('radio', 'None', chosen === null, { kind: 'setExitNode', id: null }, live),
    ...options.map((p) =>
      toggle(
        'radio',
        p.online ? p.shortName : `${p.shortName} (offline)`,
        p.id === chosen,
        { kind: 'setExitNode', id: p.id },
        live && p.online,
      ),
    ),
  ];
  // Chosen but gone from the map: traffic is blocked (exit nodes fail closed), so say so.
  if (chosen !== null && !options.some((p) => p.id === chosen))
    items.push(
      toggle('radio', `${chosen} (not available)`, true, { kind: 'setExitNode', id: chosen }, false),
    );
  const prefs = state.prefs;
  items.push(
    SEPARATOR,
    toggle(
      'checkbox',
      'Allow local network access',
      prefs?.exitNodeAllowLanAccess ?? false,
      { kind: 'setPref', pref: 'exitNodeAllowLanAccess', value: !prefs?.exitNodeAllowLanAccess },
      live && prefs !== null,
    ),
    toggle(
      'checkbox',
      'Run as exit node',
      prefs?.advertiseExitNode ?? false,
      { kind: 'setPref', pref: 'advertiseExitNode', value: !prefs?.advertiseExitNode },
      live && prefs !== null,
    ),
  );
  return items;
}

/** By the name shown: the short name, unique among what this device sees. */
const byName = (a: PeerStatus, b: PeerStatus) =>
  a.shortName.localeCompare(b.shortName, 'en', { sensitivity: 'base' }) || a.id.localeCompare(b.id);

export function trayMenu(state: TrayState): TrayItem[] {
  const live = usable(state);
  const menu: TrayItem[] = [label(statusLine(state)), SEPARATOR];
  const status = live ? state.status : null;
  if (status?.self) {
    const { shortName, dnsName, ips } = status.self;
    const address = addressOf(ips);
    menu.push(
      submenu(
        `This device: ${shortName}${address ? ` (${address})` : ''}`,
        copyItems(shortName, dnsName, address),
      ),
    );
  }
  if (status) {
    const peers = [...status.peers].sort(byName).map(peerItem);
    menu.push(
      submenu('Devices', peers.length > 0 ? peers : [label('No devices yet')]),
      item(WHY, { kind: 'openTrace', target: null }),
      submenu('Exit node', exitNodeMenu(state, status, live)),
      toggle(
        'checkbox',
        'Shields Up',
        status.shieldsUp,
        { kind: 'setPref', pref: 'shieldsUp', value: !status.shieldsUp },
        live,
      ),
      SEPARATOR,
    );
  }
  const invites = live ? (state.shares?.incoming.filter((i) => i.state === 'pending') ?? []) : [];
  if (invites.length > 0) {
    menu.push(label('Share invites'));
    for (const invite of invites) {
      menu.push(
        submenu(`${invite.owner} shares ${invite.device}`, [
          item('Accept', { kind: 'acceptInvite', id: invite.id }),
          item('Decline', { kind: 'declineInvite', id: invite.id }),
        ]),
      );
    }
    menu.push(SEPARATOR);
  }
  if (state.helper === 'not-installed') menu.push(item('Install burrowd…', { kind: 'installHelper' }));
  else if (state.backendState === 'running' || state.backendState === 'starting')
    menu.push(item('Disconnect', { kind: 'disconnect' }, live));
  else
    menu.push(item(state.backendState === 'needs-login' ? 'Log in…' : 'Connect', { kind: 'connect' }, live));
  menu.push(item('Open Burrow', { kind: 'openWindow' }), SEPARATOR, item('Quit Burrow', { kind: 'quit' }));
  return menu;
}
