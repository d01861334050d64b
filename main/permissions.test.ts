import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { permissionHandlers } from './permissions.js';

/**
 * Every permission name the installed Electron's typings list for a handler (its string union),
 * so that a newer Electron's new permissions are tested too.
 */
function permissionsOf(method: 'setPermissionRequestHandler' | 'setPermissionCheckHandler'): string[] {
  const require = createRequire(import.meta.url);
  const typings = readFileSync(require.resolve('electron/electron.d.ts'), 'utf8');
  const signature = new RegExp(`${method}\\(handler: \\(\\(webContents: [^,]+, permission: ([^,]+),`).exec(
    typings,
  );
  expect(signature, `${method} in electron.d.ts`).not.toBeNull();
  return [...signature![1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
}

describe('the window’s web permissions', () => {
  const requests = permissionsOf('setPermissionRequestHandler');
  const checks = permissionsOf('setPermissionCheckHandler');

  it('reads the permissions from Electron’s typings', () => {
    // The ones a page could most plausibly want, and the one the web mode's UI uses.
    expect(requests).toEqual(expect.arrayContaining(['clipboard-sanitized-write', 'media', 'notifications']));
    expect(checks).toEqual(expect.arrayContaining(['clipboard-sanitized-write', 'hid', 'usb', 'serial']));
  });

  it('refuses every request, at once', () => {
    for (const permission of requests) {
      const callback = vi.fn();
      permissionHandlers.request({}, permission, callback);
      expect(callback.mock.calls, permission).toEqual([[false]]);
    }
  });

  it('grants no permission when Chromium checks', () => {
    expect(checks.filter((permission) => permissionHandlers.check({}, permission))).toEqual([]);
    expect(checks.filter((permission) => permissionHandlers.check(null, permission))).toEqual([]);
  });

  it('lets the page use no device', () => {
    for (const deviceType of ['hid', 'serial', 'usb'])
      expect(permissionHandlers.device({ deviceType, origin: 'file://' })).toBe(false);
  });
});
