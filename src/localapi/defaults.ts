import type { Prefs } from './api.js';

/** A new device's prefs: no server yet, not running, every option off. */
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
});
