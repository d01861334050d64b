import type { Prefs } from './api.js';

/** A new device's prefs: no server yet, not running, every option off but the network's DNS. */
export const DEFAULT_PREFS: Readonly<Prefs> = Object.freeze({
  controlUrl: null,
  wantRunning: false,
  hostname: null,
  advertiseRoutes: [],
  advertiseExitNode: false,
  acceptRoutes: false,
  shieldsUp: false,
  exitNode: null,
  exitNodeAllowLanAccess: false,
  acceptDns: true,
});
