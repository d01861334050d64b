/**
 * The web permissions Burrow's window gets from Chromium: none. The UI needs none of them: copying
 * a share code or an address goes through the preload's copyText to main's clipboard (never
 * navigator.clipboard, which is web mode's way), the sign-in page opens through openExternal,
 * notifications come from main, and nothing uses the camera, microphone, location, devices,
 * fullscreen or pointer lock. Left alone, Electron grants most permissions to any page it shows, so
 * a script that got into the window could have them; these handlers refuse each at once, without
 * a prompt. All three are needed: Chromium checks (check handler) before most requests (request
 * handler), and devices (HID, serial, USB) have a handler of their own.
 *
 * Plain functions so that they are tested under Node; electron-facade.ts installs them.
 */
export const permissionHandlers = {
  /** For session.setPermissionRequestHandler: every request is refused, at once. */
  request(_contents: unknown, _permission: string, callback: (granted: boolean) => void): void {
    callback(false);
  },
  /** For session.setPermissionCheckHandler: no permission is ever granted. */
  check: (_contents: unknown, _permission: string): boolean => false,
  /** For session.setDevicePermissionHandler: no device may be used. */
  device: (_details: unknown): boolean => false,
};
