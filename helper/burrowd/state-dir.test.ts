import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/crypto/index.js';
import { DEFAULT_PREFS } from '../../src/localapi/defaults.js';
import { clampPrivateKey } from '../../src/wireguard/keys.js';
import { StateDir } from './state-dir.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const fresh = () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'burrowd-state-')), 'state');
  dirs.push(dir);
  return dir;
};

describe('burrowd state directory', () => {
  it('makes keys once, keeps them in a 0600 file in a 0700 directory, and gives them back', () => {
    const dir = fresh();
    const keys = new StateDir(dir).keys(randomBytes, clampPrivateKey);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'keys.json')).mode & 0o777).toBe(0o600);
    const again = new StateDir(dir).keys(randomBytes, clampPrivateKey);
    expect(Buffer.from(again.node)).toEqual(Buffer.from(keys.node));
    expect(Buffer.from(again.machine)).toEqual(Buffer.from(keys.machine));
  });

  it('keeps prefs and the last netmap across restarts', () => {
    const dir = fresh();
    const s = new StateDir(dir);
    expect(s.prefs()).toEqual(DEFAULT_PREFS);
    s.savePrefs({ ...DEFAULT_PREFS, shieldsUp: true, controlUrl: 'http://10.0.0.1:8080' });
    expect(new StateDir(dir).prefs()).toMatchObject({ shieldsUp: true, controlUrl: 'http://10.0.0.1:8080' });
    expect(statSync(join(dir, 'prefs.json')).mode & 0o777).toBe(0o600);
    expect(s.netmap()).toBeNull();
    s.saveControlKey('http://x', 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=');
    expect(s.controlKey('http://x')).toBe('yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=');
    expect(s.controlKey('http://other')).toBeNull(); // pinned per server
  });

  it('reads prefs saved before acceptDns existed, with the network’s DNS on', () => {
    const dir = fresh();
    new StateDir(dir);
    const { acceptDns: _, ...older } = { ...DEFAULT_PREFS, shieldsUp: true };
    writeFileSync(join(dir, 'prefs.json'), JSON.stringify(older));
    expect(new StateDir(dir).prefs()).toEqual({ ...DEFAULT_PREFS, shieldsUp: true, acceptDns: true });
  });

  it('names a damaged file and the bad key instead of replacing it', () => {
    const dir = fresh();
    const s = new StateDir(dir);
    s.keys(randomBytes, clampPrivateKey);
    const path = join(dir, 'keys.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"node"', '"nodee"'));
    expect(() => new StateDir(dir).keys(randomBytes, clampPrivateKey)).toThrow(
      new RegExp(`${path} is damaged: keys.json.nodee: unknown field`),
    );
    writeFileSync(join(dir, 'prefs.json'), '{"shieldsUp": "yes"');
    expect(() => s.prefs()).toThrow(/prefs\.json is damaged: prefs\.json: not valid JSON/);
  });
});
